"""digest publish to a git branch, against real bare repositories made with the git CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from digest.build import build
from digest.cli import main
from digest.publish import Options, PublishError, publish
from tests.conftest import record
from tests.test_publish import small_site, tree

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ENV = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
           GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


@pytest.fixture
def bare(tmp_path) -> Path:
    repo = tmp_path / "pages.git"
    git("init", "-q", "--bare", str(repo))
    return repo


def url(repo: Path, branch: str = "gh-pages") -> str:
    return f"git+{repo.as_uri()}#{branch}"


def branch_files(repo: Path, branch: str = "gh-pages") -> dict[str, bytes]:
    listing = git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", branch).splitlines()
    return {p: subprocess.run(["git", "--git-dir", str(repo), "show", f"{branch}:{p}"],
                              capture_output=True, check=True).stdout for p in listing}


def tip(repo: Path, branch: str = "gh-pages") -> str:
    return git("--git-dir", str(repo), "rev-parse", branch)


def test_git_publish_commits_the_build_with_nojekyll(make_site, bare):
    site = small_site(make_site)
    result = publish(site, url(bare))
    files = branch_files(bare)
    assert files.pop(".nojekyll") == b""
    assert files == tree(result.out)
    assert git("--git-dir", str(bare), "rev-list", "--count", "gh-pages") == "1"
    first = tip(bare)
    again = publish(site, url(bare))
    assert again.uploaded == 0 and tip(bare) == first  # nothing changed: no commit, no push


def test_git_publish_keeps_history_cname_and_sends_only_changes(make_site, bare, tmp_path):
    site = small_site(make_site)
    publish(site, url(bare))
    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "gh-pages", str(bare), str(work))
    (work / "CNAME").write_text("news.example.org\n", encoding="utf-8")
    git("add", "CNAME", cwd=work)
    git("commit", "-q", "-m", "custom domain", cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)
    before = tip(bare)
    old = tree(site / "build")
    (site / "content/s2.md").write_text(
        record("Story number 2 gets a new headline", "2024-01-03T10:00:00Z",
               webUrl='"https://news.example.com/story-2"', topics='["energy"]',
               provider='{name: "Example News", domain: "example.com"}'), encoding="utf-8")
    result = publish(site, url(bare), Options(delete=True))
    new = tree(result.out)
    changed = {p for p, data in new.items() if old.get(p) != data}
    assert {u.path for u in result.plan.uploads} == changed
    diff = set(git("--git-dir", str(bare), "diff", "--no-renames", "--name-only", before, "gh-pages").splitlines())
    assert diff == changed | set(result.plan.deletes)
    assert git("--git-dir", str(bare), "rev-parse", "gh-pages^") == before  # history kept
    files = branch_files(bare)
    assert files["CNAME"] == b"news.example.org\n"
    assert any("CNAME" in n for n in result.plan.notes)
    files.pop("CNAME")
    files.pop(".nojekyll")
    assert files == new


def test_git_squash_replaces_history_with_one_commit(make_site, bare):
    site = small_site(make_site)
    publish(site, url(bare))
    (site / "content/s9.md").write_text(record("Another story", "2024-01-04T10:00:00Z"),
                                        encoding="utf-8")
    publish(site, url(bare))
    assert git("--git-dir", str(bare), "rev-list", "--count", "gh-pages") == "2"
    publish(site, url(bare), Options(squash=True, delete=True))
    assert git("--git-dir", str(bare), "rev-list", "--count", "gh-pages") == "1"
    assert branch_files(bare).keys() - {".nojekyll"} == tree(site / "build").keys()


def test_git_dry_run_and_other_branches_untouched(make_site, bare, capsys):
    site = small_site(make_site)
    publish(site, url(bare, "main"))
    main_tip = tip(bare, "main")
    code = main(["publish", str(site), "--no-build", "--to", url(bare), "--dry-run"])
    assert code == 0
    assert "upload     index.html" in capsys.readouterr().out
    assert git("--git-dir", str(bare), "branch", "--list", "gh-pages") == ""
    publish(site, url(bare), build=False)
    assert tip(bare, "main") == main_tip


def test_git_max_deletes_stops_a_mass_delete(make_site, bare):
    site = small_site(make_site, n=5)
    publish(site, url(bare))
    for i in range(1, 5):
        (site / f"content/s{i}.md").unlink()
    build(site)
    capped = publish(site, url(bare), Options(delete=True, max_deletes=2), build=False)
    assert capped.plan.capped and not capped.plan.deletes
    assert len(branch_files(bare)) > len(tree(site / "build"))
    forced = publish(site, url(bare), Options(delete=True, max_deletes=2, force=True), build=False)
    assert len(forced.plan.deletes) > 2
    assert branch_files(bare).keys() - {".nojekyll"} == tree(site / "build").keys()


def test_git_errors_never_show_credentials(make_site, capsys):
    site = small_site(make_site, n=1)
    build(site)
    secret = "s3cr3t-t0ken"
    target = f"git+http://user:{secret}@127.0.0.1:9/nowhere.git#gh-pages"
    with pytest.raises(PublishError) as info:
        publish(site, target, build=False)
    assert secret not in str(info.value)
    code = main(["publish", str(site), "--no-build", "--to", target])
    captured = capsys.readouterr()
    assert code == 1 and secret not in captured.out + captured.err
    assert "***@127.0.0.1" in captured.err


@pytest.mark.parametrize(("userinfo", "secret", "shown"), [
    ("git:s3cr3t-t0ken", "s3cr3t-t0ken", "***@127.0.0.1"),  # (a name beside a password is no secret)
    ("s3cr3t-t0ken", "s3cr3t-t0ken", "***@127.0.0.1"),  # (a token alone in the user half is one)
])
def test_git_errors_blank_the_password_not_a_user_name_beside_it(make_site, userinfo, secret, shown):
    # A user name `git` was blanked wherever `git` was written: `nowhere.***`.
    site = small_site(make_site, n=1)
    build(site)
    with pytest.raises(PublishError) as info:
        publish(site, f"git+http://{userinfo}@127.0.0.1:9/nowhere.git#gh-pages", build=False)
    message = str(info.value)
    assert secret not in message and shown in message and "'http://127.0.0.1:9/nowhere.git/'" in message
