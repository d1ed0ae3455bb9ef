"""A post's image can name only pictures it may: local files inside its folder or a media root
whose bytes are the claimed image type, remote ones from public addresses (issue 17.1, 17.2, 9.5).

Real files and symlinks, the real CLI, and local servers on 127.0.0.1 (which the default policy
refuses: tests that must reach them opt in with POSTBOT_FETCH_ALLOW_NETWORKS, as a user would)."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest
from PIL import Image

from postbot.errors import Rejected
from postbot.models import Post
from postbot.platforms.media import image_source, is_remote, read_image
from postbot.remote_fetch import FetchPolicy, FetchRefused, fetch_image
from tests.fakes.mastodon import TOKEN, FakeMastodon
from tests.fakes.server import Reply
from tests.fakes.webpages import WebSite, png
from tests.helpers import LOOPBACK_FETCH, Clock, add_delivery, loopback_policy, part, run_once, settings_for, sqlite_store
from tests.process import postbot

SECRET = "MASTODON_ACCESS_TOKEN=secret-token-never-uploaded\n"


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "UTC",
            "OUTBOX_DIR": str(tmp_path / "outbox"), "POSTBOT_CHANNELS": "mastodon=outbox"}


def post_with_image(folder: Path, image: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "post.md"
    path.write_text(f"---\ntitle: Squats\nimage: {json.dumps(image)}\nimage_alt: A squat\n---\nBody text.\n",
                    encoding="utf-8")
    return path


def refused(env, tmp_path, path: Path, *needles: str) -> None:
    """Both preview and queue exit 2 naming the file, the image line and the fix; nothing is queued."""
    for command in (["preview", str(path)], ["queue", str(path), "--at", "now"]):
        result = postbot(command, env, tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"{path}:3:" in result.stderr and "Traceback" not in result.stderr
        for needle in needles:
            assert needle in result.stderr, result.stderr
    listed = postbot(["list", "--json"], env, tmp_path)
    assert listed.returncode != 0 or json.loads(listed.stdout) == []


# ---- local files ------------------------------------------------------------------------------------------------
def test_a_symlink_to_a_system_file_is_refused(env, tmp_path):
    post = tmp_path / "blog"
    post.mkdir()
    os.symlink("/etc/passwd", post / "pic.jpg")
    refused(env, tmp_path, post_with_image(post, "pic.jpg"), "resolves to /etc/passwd", "POSTBOT_MEDIA_ROOTS")


def test_a_symlink_to_the_env_file_beside_the_folder_is_refused(env, tmp_path):
    (tmp_path / ".env").write_text(SECRET, encoding="utf-8")
    post = tmp_path / "blog"
    post.mkdir()
    os.symlink("../.env", post / "cover.png")
    refused(env, tmp_path, post_with_image(post, "cover.png"), "outside", "cover.png")


@pytest.mark.parametrize("how", ["absolute", "dot-dot"])
def test_a_real_picture_outside_the_post_folder_needs_a_media_root(env, tmp_path, how):
    media = tmp_path / "media"
    media.mkdir()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(media / "photo.jpg", "JPEG")
    image = str(media / "photo.jpg") if how == "absolute" else "../../media/photo.jpg"
    path = post_with_image(tmp_path / "posts" / "blog", image)
    refused(env, tmp_path, path, "outside", "POSTBOT_MEDIA_ROOTS")
    allowed = {**env, "POSTBOT_MEDIA_ROOTS": str(media)}
    result = postbot(["preview", str(path), "--json"], allowed, tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_text_file_named_like_a_picture_is_refused(env, tmp_path):
    post = tmp_path / "blog"
    post.mkdir()
    (post / "notes.jpg").write_text(SECRET, encoding="utf-8")
    refused(env, tmp_path, post_with_image(post, "notes.jpg"), "is not an image", "notes.jpg")


def test_a_png_named_jpg_is_refused_with_the_rename(env, tmp_path):
    post = tmp_path / "blog"
    post.mkdir()
    (post / "photo.jpg").write_bytes(png(3, 3))
    refused(env, tmp_path, post_with_image(post, "photo.jpg"), "its bytes are PNG", "rename it to photo.png")


def test_a_nul_in_the_image_path_is_an_error_not_a_crash(env, tmp_path):
    refused(env, tmp_path, post_with_image(tmp_path / "blog", "pic\u0000.jpg"), "NUL")


def test_a_symlink_to_a_picture_inside_the_folder_is_fine(env, tmp_path):
    post = tmp_path / "blog"
    (post / "images").mkdir(parents=True)
    (post / "images" / "real.png").write_bytes(png(3, 3))
    os.symlink("images/real.png", post / "link.png")
    result = postbot(["queue", str(post_with_image(post, "link.png")), "--at", "now"], env, tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_file_swapped_for_a_symlink_after_queueing_is_not_uploaded(tmp_path):
    """The daemon checks again: the picture queued yesterday may be a link to /etc/passwd today."""
    picture = tmp_path / "photo.png"
    picture.write_bytes(png(3, 3))
    with FakeMastodon() as fake:
        env = {"POSTBOT_CHANNELS": "mastodon", "MASTODON_URL": fake.url, "MASTODON_ACCESS_TOKEN": TOKEN}
        store, clock = sqlite_store(tmp_path), Clock()
        payload = {"status": "with a picture", "visibility": "public",
                   "_media": {"path_or_url": str(picture), "alt": "A squat rack"}}
        delivery = add_delivery(store, "mastodon", [part("with a picture", payload)])
        picture.unlink()
        os.symlink("/etc/passwd", picture)
        run_once(store, settings_for(env), clock)
        failed = store.get(delivery.id)
        assert failed.state.value == "failed" and "symlink" in failed.error
        assert not [r for r in fake.requests if r.path == "/api/v2/media"]
        assert fake.statuses == {}


# ---- remote images: scheme, addresses, redirects, size, type ------------------------------------------------------
def fetch(url: str, policy: FetchPolicy):
    async def go():
        async with httpx.AsyncClient(timeout=5) as client:
            return await fetch_image(client, url, policy)
    return asyncio.run(go())


@pytest.fixture
def site():
    with WebSite() as server:
        yield server


def test_upper_case_schemes_are_remote_urls():
    assert is_remote("HTTPS://cdn.example.com/a.jpg") and is_remote("Http://cdn.example.com/a.jpg")
    post = Post(source="/blog/post.md", slug="p", title="T", body="b", image="HTTPS://cdn.example.com/a.jpg")
    assert image_source(post) == "HTTPS://cdn.example.com/a.jpg"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.1.2.3", "0.0.0.0"])
def test_loopback_private_and_metadata_addresses_are_refused_before_connecting(site, host):
    site.picture("/latest/meta-data", png(3, 3))
    port = site.url.rsplit(":", 1)[1]
    for scheme in ("http", "HTTP"):
        with pytest.raises(FetchRefused, match="not a public address"):
            fetch(f"{scheme}://{host}:{port}/latest/meta-data", FetchPolicy())
    assert site.requests == []


def test_the_daemon_refuses_an_image_url_on_a_private_address(tmp_path, site):
    """End to end: the image URL is never fetched and the delivery fails saying which setting opts in."""
    site.picture("/latest/meta-data", png(3, 3))
    with FakeMastodon() as fake:
        env = {"POSTBOT_CHANNELS": "mastodon", "MASTODON_URL": fake.url, "MASTODON_ACCESS_TOKEN": TOKEN}
        store, clock = sqlite_store(tmp_path), Clock()
        payload = {"status": "with a picture", "visibility": "public",
                   "_media": {"path_or_url": "HTTP://" + site.url.split("://")[1] + "/latest/meta-data", "alt": "x"}}
        delivery = add_delivery(store, "mastodon", [part("with a picture", payload)])
        run_once(store, settings_for(env), clock)
        failed = store.get(delivery.id)
        assert failed.state.value == "failed" and "POSTBOT_FETCH_ALLOW_NETWORKS" in failed.error
        assert site.requests == [] and fake.statuses == {}


def test_opting_in_to_loopback_fetches_a_real_picture(site):
    url = site.picture("/a.png", png(5, 5))
    data, name, mime = fetch(url, loopback_policy())
    assert data == png(5, 5) and name == "a.png" and mime == "image/png"


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data", "http://127.0.0.2:9/x.png",
                                    "http://10.0.0.1/x.png", "file:///etc/passwd", "ftp://example.com/x.png"])
def test_every_redirect_is_checked_again(site, target):
    site.route("GET", "/hop", lambda request: Reply(302, b"", {"Location": target}))
    with pytest.raises(FetchRefused):
        fetch(site.url + "/hop", loopback_policy())
    assert [r.path for r in site.requests] == ["/hop"]


def test_a_redirect_to_an_allowed_address_is_followed(site):
    site.picture("/final.png", png(4, 4))
    site.route("GET", "/hop", lambda request: Reply(301, b"", {"Location": "/final.png"}))
    data, _, _ = fetch(site.url + "/hop", loopback_policy())
    assert data == png(4, 4)


def test_redirect_loops_stop(site):
    site.route("GET", "/loop", lambda request: Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(FetchRefused, match="redirects more than"):
        fetch(site.url + "/loop", loopback_policy())


def test_an_image_over_the_size_cap_is_refused(site):
    url = site.picture("/big.png", png(200, 200, noise=True))
    with pytest.raises(FetchRefused, match="cap"):
        fetch(url, FetchPolicy(("127.0.0.1/32",), max_bytes=10_000))


def test_an_image_url_answering_html_is_refused(site):
    url = site.page("/page.png", "<html>not a picture</html>")
    with pytest.raises(FetchRefused, match="not an image"):
        fetch(url, loopback_policy())


def test_image_content_type_with_other_bytes_is_refused(site):
    url = site.picture("/env.png", SECRET.encode())
    with pytest.raises(FetchRefused, match="not a JPG, PNG, GIF or WEBP"):
        fetch(url, loopback_policy())


def test_publishing_reports_a_refused_image_as_a_rejection_never_sent(site):
    url = site.picture("/env.png", SECRET.encode())

    async def go():
        async with httpx.AsyncClient(timeout=5) as client:
            return await read_image(client, url, loopback_policy())
    with pytest.raises(Rejected) as caught:
        asyncio.run(go())
    assert caught.value.sent is False and "fix the image: line" in str(caught.value)


def test_the_opt_in_setting_is_read_and_checked():
    assert settings_for(LOOPBACK_FETCH).fetch_policy().allows("127.0.0.1")
    assert not settings_for({}).fetch_policy().allows("127.0.0.1")
    from postbot.errors import ConfigError
    with pytest.raises(ConfigError, match="POSTBOT_FETCH_ALLOW_NETWORKS"):
        settings_for({"POSTBOT_FETCH_ALLOW_NETWORKS": "my-laptop"})
