// Official JavaScript implementations that postbot.text is checked against.
// Reads {"bluesky": [text...], "twitter": [text...]} on stdin and prints the same shape with results.
// Modules come from NODE_PATH (the tests point it at <repo>/.cache/node-ref/node_modules).
'use strict';

function bluesky(texts) {
  const { RichText } = require('@atproto/api');
  return texts.map((text) => {
    const richText = new RichText({ text });
    richText.detectFacetsWithoutResolution();
    return {
      graphemeLength: richText.graphemeLength,
      length: richText.length,
      facets: (richText.facets || []).map((facet) => ({ index: facet.index, features: facet.features })),
    };
  });
}

function twitter(texts) {
  const twitterText = require('twitter-text');
  return texts.map((text) => ({
    parsed: twitterText.parseTweet(text),
    urls: twitterText.extractUrlsWithIndices(text),
    hashtags: twitterText.extractHashtagsWithIndices(text),
  }));
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  const answer = {};
  if (request.bluesky) answer.bluesky = bluesky(request.bluesky);
  if (request.twitter) answer.twitter = twitter(request.twitter);
  process.stdout.write(JSON.stringify(answer));
});
