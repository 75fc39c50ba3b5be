import pytest

from telemetry.privacy import captured_text, hash_user, scrub_secrets

SECRETS = [
    ("aws_access_key", "key = AKIAIOSFODNN7EXAMPLE"),
    ("github_token", "token ghp_" + "a" * 36),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"),
    ("slack_token", "xoxb-1234567890-abcdefghij"),
    ("openai_key", "OPENAI_API_KEY=sk-proj-" + "b" * 40),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("assigned_secret", 'password = "hunter2hunter2"'),
    ("bearer_token", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"),
]


@pytest.mark.parametrize(("kind", "text"), SECRETS)
def test_secrets_are_scrubbed(kind, text):
    scrubbed = scrub_secrets(text)
    assert "[REDACTED:" in scrubbed
    for token in ("AKIAIOSFODNN7EXAMPLE", "a" * 36, "MIIEowIBAAKCAQEA", "hunter2hunter2", "abcdefghijklmnopqrstuvwxyz012345", "b" * 40):
        assert token not in scrubbed


def test_ordinary_code_is_left_alone():
    code = "def password_strength(password):\n    return len(password) > 8\n"
    assert scrub_secrets(code) == code


def test_user_hash_is_salted_per_org():
    assert hash_user(salt="a", user="bob") == hash_user(salt="a", user="bob")
    assert hash_user(salt="a", user="bob") != hash_user(salt="b", user="bob")
    assert "bob" not in hash_user(salt="a", user="bob")


def test_capture_modes():
    text = "x = 1  # api_key=abcdefgh12345"
    assert captured_text(mode="off", text=text) is None
    assert captured_text(mode="hashed", text=text).startswith("sha256:")
    assert "abcdefgh12345" not in captured_text(mode="full", text=text)
