"""What a new user trips over before the first post: database URLs, folders, time zones, front
matter mistakes, `--version`. Each runs the real `postbot` command as a child process."""
from __future__ import annotations

import json
import os
import re
import tomllib

import pytest

from tests.process import REPO, postbot

EXAMPLE = REPO / "posts" / "hip-thrust-alternatives.md"


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "Europe/London",
            "OUTBOX_DIR": str(tmp_path / "outbox")}


def one_error_line(result) -> str:
    """The whole of stderr, asserted to be one clean `postbot: error:` message, not a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("postbot: error: "), result.stderr
    return result.stderr


def test_postgresql_url_without_the_driver_says_how_to_install_it(env, tmp_path):
    # A psycopg that cannot be imported, ahead of the real one on the path: as on a machine without it.
    shadow = tmp_path / "no-psycopg" / "psycopg"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n")
    env |= {"POSTBOT_DATABASE_URL": "postgresql://postbot@127.0.0.1:1/postbot",
            "PYTHONPATH": f"{REPO}{os.pathsep}{shadow.parent}"}
    result = postbot(["queue", str(EXAMPLE), "--at", "now"], env, tmp_path)
    assert result.returncode == 2
    message = one_error_line(result)
    assert "pip install 'postbot[postgres]'" in message and "POSTBOT_DATABASE_URL" in message


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://"])
def test_an_empty_sqlite_path_is_refused_not_silently_in_memory(env, tmp_path, url):
    result = postbot(["queue", str(EXAMPLE), "--at", "now"], env | {"POSTBOT_DATABASE_URL": url}, tmp_path)
    assert result.returncode == 2, result.stdout
    assert "POSTBOT_DATABASE_URL" in one_error_line(result) and "sqlite:///postbot.db" in result.stderr
    assert "scheduled" not in result.stdout


def test_memory_asked_for_explicitly_is_allowed(env, tmp_path):
    result = postbot(["list"], env | {"POSTBOT_DATABASE_URL": "sqlite:///:memory:"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no deliveries"


def test_unsupported_scheme_is_named_without_the_credentials(env, tmp_path):
    result = postbot(["list"], env | {"POSTBOT_DATABASE_URL": "mysql://admin:hunter2@db.example/z"}, tmp_path)
    assert result.returncode == 2
    message = one_error_line(result)
    assert "mysql://" in message and "not supported" in message and "postgresql://" in message
    assert "hunter2" not in message and "'db.example/z'" not in message


def test_missing_database_folder_exits_2_naming_it(env, tmp_path):
    missing = tmp_path / "no" / "such"
    result = postbot(["queue", str(EXAMPLE), "--at", "now"],
                     env | {"POSTBOT_DATABASE_URL": f"sqlite:///{missing / 'p.db'}"}, tmp_path)
    assert result.returncode == 2
    assert str(missing) in one_error_line(result) and "mkdir -p" in result.stderr


@pytest.mark.parametrize("make", ["folder", "not-a-database", "parent-is-a-file"])
def test_a_database_path_that_cannot_be_opened_exits_2(env, tmp_path, make):
    target = tmp_path / "target"
    if make == "folder":
        target.mkdir()
        url = f"sqlite:///{target}"
    elif make == "not-a-database":
        target.write_text("these are my notes, not a database\n" * 200)
        url = f"sqlite:///{target}"
    else:
        target.write_text("a file\n")
        url = f"sqlite:///{target / 'postbot.db'}"
    result = postbot(["list"], env | {"POSTBOT_DATABASE_URL": url}, tmp_path)
    assert result.returncode == 2
    assert str(target) in one_error_line(result)
    if make == "not-a-database":
        assert target.read_text().startswith("these are my notes")      # untouched


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file; the permission check cannot fail")
def test_read_only_database_exits_2(env, tmp_path):
    db = tmp_path / "cli.db"
    assert postbot(["queue", str(EXAMPLE), "--at", "+1d"], env, tmp_path).returncode == 0
    db.chmod(0o444)
    result = postbot(["list"], env, tmp_path)
    assert result.returncode == 2 and "permissions" in one_error_line(result)


def test_time_zone_in_the_wrong_case_gets_the_right_name(env, tmp_path):
    result = postbot(["list"], env | {"POSTBOT_TIMEZONE": "europe/london"}, tmp_path)
    assert result.returncode == 2
    assert "did you mean Europe/London?" in one_error_line(result) and "POSTBOT_TIMEZONE" in result.stderr


def test_failed_queue_and_read_only_commands_create_no_database(env, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nchannels: [x]\npublish_at: 2020-01-01T09:00\n---\nHello there.\n")
    assert postbot(["queue", str(bad)], env, tmp_path).returncode == 2
    for args in (["list"], ["list", "--state", "failed", "--json"], ["show", "1"], ["status", "--offline"],
                 ["run", "--dry-run"], ["run", "--once"], ["cancel", "1"]):
        postbot(args, env, tmp_path)
        assert not (tmp_path / "cli.db").exists(), args
    assert postbot(["queue", str(EXAMPLE), "--at", "now"], env, tmp_path).returncode == 0
    assert (tmp_path / "cli.db").exists()


def test_unknown_channel_in_front_matter_names_file_and_line(env, tmp_path):
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: Squats\nchannels: [x, tiktok]\n---\nHello there.\n")
    for command in ("preview", "queue"):
        result = postbot([command, str(post)], env, tmp_path)
        assert result.returncode == 2
        assert f"{post}:3:" in one_error_line(result) and "'tiktok'" in result.stderr
        assert "POSTBOT_CHANNELS" in result.stderr


@pytest.mark.parametrize("value, problem", [("tomorrow", "is not a time"), ("2020-01-01T09:00", "in the past")])
def test_bad_publish_at_names_file_and_line(env, tmp_path, value, problem):
    post = tmp_path / "post.md"
    post.write_text(f"---\ntitle: Squats\n\npublish_at: {value}\n---\nHello there.\n")
    result = postbot(["queue", str(post)], env, tmp_path)
    assert result.returncode == 2
    assert f"{post}:4:" in one_error_line(result) and problem in result.stderr


def test_version_matches_the_package(tmp_path):
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    result = postbot(["--version"], {}, tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"postbot {declared}"


def test_at_next_without_slots_is_refused_naming_the_setting(env, tmp_path):
    env |= {"POSTBOT_CHANNELS": "x=outbox,shop=outbox", "SHOP_RENDER_AS": "mastodon",
            "X_SLOTS": "mon-fri 09:00"}
    result = postbot(["queue", str(EXAMPLE), "--at", "next"], env, tmp_path)
    assert result.returncode == 2
    message = one_error_line(result)
    assert "channel shop" in message and "SHOP_SLOTS" in message and "X_SLOTS" not in message
    assert not (tmp_path / "cli.db").exists()
    with_slots = postbot(["queue", str(EXAMPLE), "--at", "next", "--channel", "x", "--json"], env, tmp_path)
    assert with_slots.returncode == 0, with_slots.stderr
    assert "T09:00:00" in with_slots.stdout


def test_queue_help_says_what_at_defaults_to(tmp_path):
    text = " ".join(postbot(["queue", "--help"], {}, tmp_path).stdout.split())
    assert "default: the post's publish_at, else the next free slot where <NAME>_SLOTS is set, else now" in text


def test_queueing_the_same_post_again_is_refused_unless_again(env, tmp_path):
    first = postbot(["queue", str(EXAMPLE), "--at", "+1d", "--channel", "x", "--json"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    [earlier] = json.loads(first.stdout)
    again = postbot(["queue", str(EXAMPLE), "--at", "+2d", "--channel", "x"], env, tmp_path)
    assert again.returncode == 2
    message = one_error_line(again)
    assert f"#{earlier['id']} x (scheduled)" in message and "--again" in message
    # Other channels are not duplicates; a cancelled delivery no longer counts.
    assert postbot(["queue", str(EXAMPLE), "--at", "+1d", "--channel", "bluesky"], env, tmp_path).returncode == 0
    assert postbot(["cancel", str(earlier["id"])], env, tmp_path).returncode == 0
    assert postbot(["queue", str(EXAMPLE), "--at", "+1d", "--channel", "x"], env, tmp_path).returncode == 0
    forced = postbot(["queue", str(EXAMPLE), "--at", "+3d", "--channel", "x", "--again"], env, tmp_path)
    assert forced.returncode == 0, forced.stderr
    listed = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert sorted(d["state"] for d in listed if d["channel"] == "x") == ["cancelled", "scheduled", "scheduled"]


def test_readme_command_table_lists_every_command_and_option():
    import argparse

    from postbot.cli import _parser
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.split("## Commands", 1)[1].split("\n## ", 1)[0].splitlines()
             if line.startswith("| `postbot")]
    parser = _parser()
    assert any("`postbot --version`" in row for row in table)
    assert "`--debug`" in readme and "`--env-file FILE`" in readme
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        rows = [row.split(" | ")[0] for row in table if re.search(rf"`postbot {name}\b|/ `?{name} ID", row)]
        assert rows, f"README command table has no row for {name}"
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option not in ("--help", "--debug", "--env-file"):
                    assert any(option in row for row in rows), f"README: `postbot {name}` row lacks {option}"


def test_plain_text_article_may_start_with_front_matter_as_the_readme_says(env, tmp_path):
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "A plain-text article may start with the same front matter" in readme
    article = tmp_path / "article.txt"
    article.write_text("---\ntags: [mobility]\nurl: https://example.com/blog/mobility\n---\n16/07/2025\n\n"
                       "Move every morning. It helps.\n\nBook a call https://example.com/book\n")
    result = postbot(["preview", str(article), "--channel", "x", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    [render] = json.loads(result.stdout)["renders"]
    assert "#mobility" in render["text"].lower()
