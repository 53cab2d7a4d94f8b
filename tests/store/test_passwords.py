"""The password policy (``store.passwords``) and its shipped list of common passwords."""

from __future__ import annotations

from store.passwords import COMMON_PASSWORDS_FILE, common_passwords, password_problem


def test_a_good_password_passes() -> None:
    assert password_problem("correct horse battery", "ada@example.com") is None
    assert password_problem("a b c d e") is None  # spaces inside are fine


def test_length() -> None:
    assert "at least 8" in (password_problem("seven77") or "")
    assert password_problem("eight888x") is None
    assert "at most 1024" in (password_problem("x" * 1025) or "")


def test_not_only_blanks() -> None:
    for blank in (" " * 8, " " * 40, "\t \n     "):
        assert "only spaces" in (password_problem(blank) or ""), repr(blank)


def test_not_the_email_or_its_local_part_in_any_case() -> None:
    email = "Grace.Hopper@Example.com"
    for same in ("grace.hopper@example.com", "GRACE.HOPPER@EXAMPLE.COM", " grace.hopper ",
                 "Grace.Hopper"):
        assert "email" in (password_problem(same, email) or ""), same
    assert password_problem("grace.hopper1", email) is None
    assert password_problem("grace.hopper") is None  # no email given: nothing to compare


def test_common_passwords_are_refused_in_any_case() -> None:
    for common in ("password", "Password1", "PASSWORD123", "qwertyuiop", "iloveyou",
                   "12345678", "sunshine1", "letmein123", "1q2w3e4r5t"):
        assert "most common" in (password_problem(common) or ""), common


def test_the_shipped_list() -> None:
    listed = common_passwords()
    assert len(listed) >= 1000
    assert all(p == p.strip().lower() and p for p in listed)
    header = COMMON_PASSWORDS_FILE.read_text().splitlines()[0]
    assert header.startswith("#")  # says where the list comes from
    assert not any(p.startswith("#") for p in listed)
