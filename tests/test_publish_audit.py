"""digest publish under hostile or unusual conditions: each case a defect found by an audit
of the command, with the test that proves its fix (git branches, folders, S3 headers, target URLs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from digest.build import build
from digest.cli import main
from digest.publish import Options, PublishError, publish
from digest.publish.git import GitTarget
from tests.test_publish import small_site, tree
from tests.test_publish_git import branch_files, git, tip, url

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def bare(tmp_path):
    repo = tmp_path / "pages.git"
    git("init", "-q", "--bare", str(repo))
    return repo


def _commit_to(repo, tmp_path, files: dict[str, str], message: str = "by hand") -> None:
    """Commit ``files`` to the branch from a clone of ``repo``, as another publisher would."""
    work = tmp_path / f"clone-{message.replace(' ', '-')}"
    if not work.exists():
        git("clone", "-q", "--branch", "gh-pages", str(repo), str(work))
    git("pull", "-q", "origin", "gh-pages", cwd=work)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)


# -- git: files of the branch in the way of the build ---------------------------------------

@needs_git
def test_git_never_deletes_a_branch_folder_in_the_way_without_delete_or_past_the_cap(make_site, bare,
                                                                                      tmp_path, capsys):
    """The branch had ``extra/`` (five files) and the build now has a file ``extra``: the index
    replaced the folder silently, deleting five files without --delete (the summary said
    "0 deleted ... --delete removes them"), and past --max-deletes with it."""
    site = small_site(make_site)
    publish(site, url(bare))
    _commit_to(bare, tmp_path, {f"extra/f{i}.txt": f"{i}\n" for i in range(5)})
    before = tip(bare)
    (site / "build" / "extra").write_text("now a file\n", encoding="utf-8")
    with pytest.raises(PublishError, match=r"extra of branch gh-pages is a file where|"
                                           r"extra of branch gh-pages is a folder where.*--delete"):
        publish(site, url(bare), build=False)
    code = main(["publish", str(site), "--no-build", "--delete", "--max-deletes", "2", "--to", url(bare)])
    err = capsys.readouterr().err
    assert code == 1 and "--max-deletes 5 or --force" in err and "nothing was published" in err
    assert tip(bare) == before and "extra/f4.txt" in branch_files(bare)
    done = publish(site, url(bare), Options(delete=True), build=False)
    files = branch_files(bare)
    assert files["extra"] == b"now a file\n" and not any(p.startswith("extra/") for p in files)
    assert sorted(done.plan.deletes) == [f"extra/f{i}.txt" for i in range(5)]


@needs_git
def test_git_a_branch_file_where_the_build_has_a_folder_is_named_not_replaced(make_site, bare, tmp_path):
    site = small_site(make_site)
    publish(site, url(bare))
    _commit_to(bare, tmp_path, {"notes": "a file\n"})
    (site / "build" / "notes").mkdir()
    (site / "build" / "notes" / "index.html").write_text("<p>notes</p>\n", encoding="utf-8")
    with pytest.raises(PublishError, match="notes of branch gh-pages is a file where the build has a folder"):
        publish(site, url(bare), build=False)
    assert branch_files(bare)["notes"] == b"a file\n"
    publish(site, url(bare), Options(delete=True), build=False)
    assert branch_files(bare)["notes/index.html"] == b"<p>notes</p>\n"


# -- git: someone else pushed while the publish ran --------------------------------------------

def _errors(err: str) -> list[str]:
    """The lines of ``err`` but the warnings on the output folder that ``--no-build`` prints before
    it sends anything (here: the site's files were written moments before its build, so the build
    could not record that nothing changed since; see `digest.build.built_output`)."""
    return [line for line in err.strip().splitlines() if not line.startswith("build/: warning:")]


def _pushed_meanwhile(monkeypatch, repo, tmp_path) -> None:
    """Another publisher pushes to the branch after digest read its tip, before digest pushes."""
    plan = GitTarget.plan

    def racing(self, files, options):
        found = plan(self, files, options)
        _commit_to(repo, tmp_path, {"other.txt": "pushed meanwhile\n"}, "meanwhile")
        return found

    monkeypatch.setattr(GitTarget, "plan", racing)


@needs_git
def test_git_squash_never_overwrites_a_commit_pushed_while_it_ran(make_site, bare, tmp_path, monkeypatch,
                                                                 capsys):
    """``--squash`` pushed with ``+``: a commit another publisher pushed meanwhile was lost."""
    site = small_site(make_site)
    publish(site, url(bare))
    (site / "content/s9.md").write_text("---\ntitle: Another\npublishedDateTime: 2024-01-04T10:00:00Z\n---\n",
                                        encoding="utf-8")
    publish(site, url(bare))
    _pushed_meanwhile(monkeypatch, bare, tmp_path)
    code = main(["publish", str(site), "--no-build", "--squash", "--to", url(bare)])
    err = capsys.readouterr().err
    assert code == 1
    assert branch_files(bare)["other.txt"] == b"pushed meanwhile\n"
    assert git("--git-dir", str(bare), "log", "-1", "--format=%s", "gh-pages") == "meanwhile"
    assert "changed on the remote while" in err and len(_errors(err)) == 1
    monkeypatch.undo()
    publish(site, url(bare), Options(squash=True), build=False)  # a rerun finishes the job
    assert git("--git-dir", str(bare), "rev-list", "--count", "gh-pages") == "1"


@needs_git
def test_git_push_rejected_because_the_branch_moved_is_one_clear_line(make_site, bare, tmp_path, monkeypatch,
                                                                      capsys):
    """The rejection was git's eight lines, ending in hints to run ``git pull``."""
    site = small_site(make_site)
    publish(site, url(bare))
    (site / "build" / "new.html").write_text("<p>new</p>\n", encoding="utf-8")
    _pushed_meanwhile(monkeypatch, bare, tmp_path)
    code = main(["publish", str(site), "--no-build", "--to", url(bare)])
    err = capsys.readouterr().err
    assert code == 1 and len(_errors(err)) == 1, err
    assert "changed on the remote while" in err and "run the same command again" in err
    assert "git pull" not in err
    monkeypatch.undo()
    publish(site, url(bare), build=False)
    files = branch_files(bare)
    assert files["new.html"] == b"<p>new</p>\n" and files["other.txt"] == b"pushed meanwhile\n"



# -- credentials with a character a URL reads as the end of its host ---------------------------

@pytest.mark.parametrize("target", [
    "git+https://alice:s3cr#et@example.invalid/u/r.git#gh-pages",
    "git+https://alice:s3cr/et@example.invalid/u/r.git",
    "git+https://alice:s3cr?et@example.invalid/u/r.git",
    "git+ssh://git:s3cr#et@example.invalid/u/r.git",
    "https://alice:s3cr#et@example.invalid/u/r.git",  # (git+ forgotten)
    "file://alice:s3cr#et@localhost/srv/www",
    "s3://alice:s3cr#et@bucket/site",
])
def test_a_password_holding_a_hash_slash_or_question_mark_is_never_printed(make_site, capsys, target):
    """``user:pa#ss@host``: the URL's host ends at ``#``, so its "host" was ``user:pa`` and no
    ``@`` was left in it to redact: the password was printed whole (and for git, ``https://user:pa``
    went to git's command line)."""
    site = small_site(make_site, n=1)
    code = main(["publish", str(site), "--no-build", "--dry-run", "--to", target])
    captured = capsys.readouterr()
    assert code in (1, 2)
    assert "s3cr" not in captured.out + captured.err and "***@" in captured.err
    if target.startswith("git+"):
        assert "is written %23, %3F or %2F" in captured.err


@pytest.mark.parametrize("target", [
    "git+https://alice:pw1@pw2#pw3@example.invalid/u/r.git#gh-pages",
    "git+https://alice:pw1@pw2/pw3@example.invalid/u/r.git",
    "git+https://alice:pw1@pw2?pw3@example.invalid/u/r.git",
    "git+ssh://git:pw1@pw2/pw3@example.invalid/u/r.git",
    "git+https://alice:pw1@pw2@127.0.0.1:9/u/r.git",
    "s3://alice:pw1@pw2@bucket/site",
    "s3://alice:pw1@pw2/pw3@bucket/site",
    "s3://alice:pw1@pw2#pw3@bucket/site",
    "file://alice:pw1@pw2@localhost/srv/www",
    "file://alice:pw1@pw2/pw3@localhost/srv/www",
    "git+https://alice:1234#pw3@example.invalid/u/r.git",
    "git+https://alice:1234?pw3@example.invalid/u/r.git",
])
def test_a_password_holding_an_at_sign_is_hidden_whole(make_site, capsys, target):
    """``user:pw1@pw2/pw3@host``: the URL's host ends at the first ``/``, so its user-info was
    ``user:pw1`` and ``pw2/pw3`` was printed as the host and path (``***@pw2/pw3@host``); with a
    ``#``, the rest of the password was taken for the branch and printed in its refusal."""
    site = small_site(make_site, n=1)
    build(site)
    code = main(["publish", str(site), "--no-build", "--dry-run", "--to", target])
    captured = capsys.readouterr()
    assert code == 1
    assert "pw" not in captured.out + captured.err and "***@" in captured.err, captured.err
    if target.startswith("git+") and "127.0.0.1" not in target:
        assert "is written %23, %3F or %2F" in captured.err


@needs_git
def test_a_password_holding_an_at_sign_is_hidden_in_the_plan_and_the_summary(make_site, bare, capsys):
    site = small_site(make_site, n=1)
    target = f"git+file://alice:pw1@pw2@{bare}"
    assert main(["publish", str(site), "--dry-run", "--to", target]) == 0
    assert main(["publish", str(site), "--no-build", "-v", "--to", target]) == 0
    out = capsys.readouterr().out
    assert "Dry run: publishing" in out and "Published" in out
    assert "pw" not in out and f"git+file://***@{bare}#gh-pages" in out
    assert "index.html" in branch_files(bare)


def test_redact_hides_a_password_cut_short_by_a_hash():
    from digest.publish.common import redact
    assert redact("https://u:pa#ss@host/r.git#main") == "https://***@host/r.git#main"
    assert redact("https://u:pa/ss@host/r.git") == "https://***@host/r.git"
    assert redact("https://host:8443/@scope/r.git") == "https://host:8443/@scope/r.git"  # (a real port)
    assert redact("https://u:p@ss@host/r.git") == "https://***@host/r.git"
    assert redact("https://u:p@ss/wd@host/r.git") == "https://***@host/r.git"
    assert redact("https://u:p@ss#wd@host/r.git#main") == "https://***@host/r.git#main"
    assert redact("s3://u:p@ss?wd@bucket/site") == "s3://***@bucket/site"
    assert redact("git+ssh://git@host/a@b.git") == "git+ssh://***@host/a@b.git"  # (no password)
    assert redact("http://al:1234#pw@127.0.0.1:9") == "http://***@127.0.0.1:9"
    assert redact("https://host:8443/r.git#a@b") == "https://host:8443/r.git#a@b"  # (a branch with @)


# -- folder targets ----------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["file:~/www", "file:www", "file:./www", "file:../www"])
def test_a_folder_target_with_a_relative_path_or_tilde_is_refused(make_site, tmp_path, monkeypatch, capsys,
                                                                target):
    """``file:~/www`` published into a folder named ``~`` of the current folder (not the home
    folder; ``file:www`` into ``./www``, whatever the site's folder)."""
    site = small_site(make_site, n=1)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    code = main(["publish", str(site), "--to", target])
    err = capsys.readouterr().err
    assert code == 1 and "needs an absolute path" in err and "~ is not expanded" in err
    assert list(work.iterdir()) == [] and not (tmp_path / "www").exists()


def test_a_folder_target_written_with_a_tilde_host_says_tilde_is_not_expanded(capsys):
    with pytest.raises(PublishError, match="~ is not expanded"):
        publish(Path("."), "file://~/www", build=False)


# -- S3 headers --------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "kind"), [
    ("static/data.json.gz", "application/gzip"), ("downloads/archive.tar.gz", "application/gzip"),
    ("static/table.csv.bz2", "application/x-bzip2"), ("static/log.txt.xz", "application/x-xz"),
    ("static/app.js.br", "application/octet-stream"), ("static/data.json.zst", "application/zstd"),
])
def test_a_compressed_file_is_served_as_itself_not_as_what_it_holds(path, kind):
    """``data.json.gz`` was sent as ``application/json; charset=utf-8`` (what `mimetypes` says
    it holds), without a ``Content-Encoding``: a browser or ``fetch`` read gzip bytes as JSON."""
    from digest.mediatypes import content_type
    assert content_type(path) == kind


@pytest.mark.parametrize("prefix", ["/site", "//site/", "/"])
def test_s3_a_prefix_starting_with_an_empty_part_is_refused(make_site, prefix):
    """``s3://bucket//site`` was read as ``site/`` (the README says an empty part is refused;
    the AWS CLI reads it as the key prefix ``/site``)."""
    pytest.importorskip("boto3")
    site = small_site(make_site, n=1)
    with pytest.raises(PublishError, match="the prefix has an empty, '.' or '..' part"):
        publish(site, f"s3://bucket/{prefix}", Options(endpoint_url="http://127.0.0.1:9"), build=False)


@pytest.mark.parametrize("endpoint", ["http://alice:s3cr#et@127.0.0.1:9", "http://alice:s3cr@et#x@127.0.0.1:9",
                                      "http://alice:s3cr@et@127.0.0.1:9", "http://alice:1234#s3cr@127.0.0.1:9"])
def test_s3_a_password_in_the_endpoint_from_the_environment_is_refused_never_printed(make_site, monkeypatch,
                                                                                   capsys, endpoint):
    """``AWS_ENDPOINT_URL=http://alice:s3cr#et@host``: botocore quoted the endpoint as written;
    with ``s3cr@et#x``, as it parsed it: ``et`` was printed as its host."""
    pytest.importorskip("boto3")
    site = small_site(make_site, n=1)
    build(site)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "key")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    code = main(["publish", str(site), "--no-build", "--dry-run", "--to", "s3://bucket/site"])
    captured = capsys.readouterr()
    assert code == 1 and "holds a user name or password" in captured.err and "alice" not in captured.err
    assert "s3cr" not in captured.out + captured.err and "et" not in captured.err.split("endpoint")[1][:20]


# -- folder targets: folders in the way, temporary names ---------------------------------------

def _www(tmp_path) -> tuple[Path, str]:
    www = tmp_path / "www"
    return www, f"file://{www}"


def test_folder_an_empty_folder_where_the_build_has_a_file_is_replaced(make_site, tmp_path, capsys):
    """Every publish failed with "Is a directory" while the target held an empty folder (or a
    tree of them) where the build has a file; nothing is lost by replacing it."""
    site = small_site(make_site)
    www, target = _www(tmp_path)
    publish(site, target)
    (www / "notes" / "a" / "b").mkdir(parents=True)
    (www / "robots.txt").unlink()
    (www / "robots.txt").mkdir()
    (site / "build" / "notes").write_text("now a file\n", encoding="utf-8")
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", target]) == 0
    out = capsys.readouterr().out
    assert "upload     notes" in out and "upload     robots.txt" in out
    assert "2 empty folder(s) of the target where the build has a file replaced" in out
    assert (www / "notes" / "a" / "b").is_dir()  # (a dry run changes nothing)
    assert main(["publish", str(site), "--no-build", "--to", target]) == 0
    out = capsys.readouterr().out
    assert "2 uploaded (2 new, 0 changed)" in out and "0 deleted" in out and "empty folder(s)" in out
    assert tree(www) == tree(site / "build")
    again = publish(site, target, build=False)
    assert again.plan.empty and not again.plan.notes


def test_folder_a_folder_with_files_where_the_build_has_a_file_follows_the_delete_rules(make_site, tmp_path):
    """As on a git branch: its files go only with --delete, within --max-deletes; its empty
    subfolders go with them (they made the copy fail after the files were deleted)."""
    site = small_site(make_site)
    www, target = _www(tmp_path)
    publish(site, target)
    (www / "notes" / "empty").mkdir(parents=True)
    for i in range(3):
        (www / "notes" / f"f{i}.txt").write_text(f"{i}\n", encoding="utf-8")
    (site / "build" / "notes").write_text("now a file\n", encoding="utf-8")
    with pytest.raises(PublishError, match=r"www/notes is a folder where the build has a file.*--delete"):
        publish(site, target, build=False)
    with pytest.raises(PublishError, match="--max-deletes 3 or --force"):
        publish(site, target, Options(delete=True, max_deletes=2), build=False)
    assert (www / "notes" / "f2.txt").is_file()
    done = publish(site, target, Options(delete=True), build=False)
    assert sorted(done.plan.deletes) == [f"notes/f{i}.txt" for i in range(3)] and not done.plan.notes
    assert (www / "notes").read_bytes() == b"now a file\n"


def test_folder_a_folder_in_the_way_holding_a_link_is_named_not_removed(make_site, tmp_path):
    site = small_site(make_site)
    www, target = _www(tmp_path)
    publish(site, target)
    (www / "notes" / "sub").mkdir(parents=True)
    (www / "notes" / "sub" / "link").symlink_to(tmp_path)
    (site / "build" / "notes").write_text("now a file\n", encoding="utf-8")
    with pytest.raises(PublishError, match=r"www/notes is a folder where the build has a file, and holds "
                                           r".*notes/sub/link, which is no file digest publishes"):
        publish(site, target, Options(delete=True), build=False)
    assert (www / "notes" / "sub" / "link").is_symlink()


def test_folder_a_build_file_named_like_a_temporary_copy_is_published_and_kept(make_site, tmp_path, capsys):
    """A build file named ``.digest-publish-<n>-...`` was taken for a leftover: each publish
    deleted it and sent it again (the site was without it meanwhile), a dry run did not list it,
    and a copy of its neighbour named the same overwrote it."""
    names = [".digest-publish-1-1", f".digest-publish-{os.getpid()}-1", f".digest-publish-{os.getpid()}-2",
             ".digest-publish-x", f"static/.digest-publish-{os.getpid()}-1", "static/.digest-publish-7-app.js"]
    site = small_site(make_site)
    www, target = _www(tmp_path)
    built = build(site).out  # (a build skips dot files of static/: an output folder published as it is)
    for name in names:
        (built / name).write_text(f"file {name}\n", encoding="utf-8")
    expected = tree(built)
    first = publish(site, target, build=False)
    assert tree(www) == expected and not first.plan.notes
    again = publish(site, target, build=False)
    assert again.plan.empty and again.plan.unchanged == len(expected) and tree(www) == expected
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", target]) == 0
    assert "Would upload 0 files" in capsys.readouterr().out


def test_folder_copies_left_by_a_killed_publish_are_reported_and_removed(make_site, tmp_path, capsys):
    site = small_site(make_site)
    www, target = _www(tmp_path)
    publish(site, target)
    (www / ".digest-publish-4242-index.html").write_text("half a page", encoding="utf-8")
    (www / "static" / ".digest-publish-4242-17").write_text("half a script", encoding="utf-8")
    (www / "static" / ".digest-publish-notours").write_text("someone's file", encoding="utf-8")
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", target]) == 0
    out = capsys.readouterr().out
    assert "2 temporary file(s) left by an interrupted publish removed (not by a dry run)" in out
    assert (www / ".digest-publish-4242-index.html").exists()
    assert main(["publish", str(site), "--no-build", "--to", target]) == 0
    assert "2 temporary file(s) left by an interrupted publish" in capsys.readouterr().out
    assert not (www / ".digest-publish-4242-index.html").exists()
    assert not (www / "static" / ".digest-publish-4242-17").exists()
    assert (www / "static" / ".digest-publish-notours").read_text() == "someone's file"  # (not ours)
    assert publish(site, target, build=False).plan.notes == []


def test_folder_a_file_with_the_longest_name_the_disk_takes_is_published(make_site, tmp_path):
    """Its copy was named ``.digest-publish-<pid>-<its name>``: too long, and the publish failed."""
    name = "n" * 250 + ".txt"
    site = small_site(make_site, extra={f"static/{name}": "long\n"})
    www, target = _www(tmp_path)
    publish(site, target)
    assert (www / "static" / name).read_text() == "long\n"
