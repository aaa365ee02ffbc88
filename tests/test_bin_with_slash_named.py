"""A bin no call can name (one with a ``/`` inside, which ``url_for("a/b")`` captures into as
``/a%2Fb``, or one whose name holds ``%XX`` text) is refused by ``lab.secret``,
``lab.respond`` and ``lab.forward`` with words that say so and how to answer it instead. The
refusal said "url_for makes none", which was false, and told a bin named ``100%41`` to write
``'100%41'``, which the same call then refused (an outside tester). Naming such a bin
``"a%2Fb"`` was tried and taken back the same day: ``url_for("a%2Fb")`` and the filters read
that spelling as bin ``a%2Fb``, ``respond("%2Fx")`` became the glob ``/x`` (a reviewer)."""

from __future__ import annotations

import pytest

import hooklab

#: (name given, the words: the bin a capture to /<name>/... is in, and what to do)
REFUSED = [
    ("a%2Fb", "is in bin 'a/b' (a bin is read with its escapes undone, as capture.bin is); a "
              "bin with a '/' inside, as 'a/b', is named by no call of lab.secret, lab.respond "
              "or lab.forward (url_for captures into it; give it a name of one path segment "
              "without escapes, or answer its paths with path globs: lab.respond('/a%2Fb') "
              "and lab.respond('/a%2Fb/*'))"),
    ("%2Fx", "is in bin '/x'"),
    ("100%2541", "a bin with %XX text in its name, as '100%41', is named by no call"),
    ("caf%C3%A9", "is in bin 'café' (a bin is read with its escapes undone, as capture.bin "
                  "is); write 'café' (url_for('café') escapes it again)"),
    ("100%41", "write '100A'"),
    ("a/b", "write 'a'"),
]


@pytest.fixture()
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: conftest
    yield lab  # stops that one after each test)
    lab.stop()


@pytest.mark.parametrize(("name", "words"), REFUSED)
def test_a_bin_no_call_can_name_is_refused_saying_so(lab, name, words) -> None:
    for call in (lambda: lab.secret(name, "s3cret-xyz"), lambda: lab.respond(name, status=202),
                 lambda: lab.forward(name, "http://127.0.0.1:9/x")):
        with pytest.raises(ValueError) as info:
            call()
        assert words in str(info.value)
    assert len(lab.rules) == 0


def test_the_path_globs_the_words_give_answer_that_bin(lab) -> None:
    """(an outside tester: '/a%2Fb/*' alone left url_for('a/b') itself answered 200)"""
    lab.respond("/a%2Fb", status=202)
    lab.respond("/a%2Fb/*", status=203)
    assert hooklab.send(lab.url_for("a/b"), payload={}).status == 202
    assert hooklab.send(lab.url_for("a/b", "x"), payload={}).status == 203
    assert hooklab.send(lab.url_for("a", "b/x"), payload={}).status == 200
    assert hooklab.send(lab.url_for("a/bc"), payload={}).status == 200
    assert [c.bin for c in lab.wait(4, timeout=20)] == ["a/b", "a/b", "a", "a/bc"]
