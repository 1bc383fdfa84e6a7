"""`amlemu serve` and `amlemu env` as a user meets them: the export lines work in a shell and find
the running server's port, the secrets are private files, and bad usage is one line and a
non-zero exit."""
import os
import stat
import subprocess

from conftest import CLI, Server, base_env, cli


def env_in_shell(home, port=None):
    """What a shell sees after `eval "$(amlemu env)"`."""
    script = 'eval "$(%s env%s)" && printf "%%s\\n" "$MSI_ENDPOINT" "$HTTPS_PROXY" "$REQUESTS_CA_BUNDLE"' % (
        CLI, "" if port is None else " --port %d" % port)
    out = subprocess.run(["sh", "-c", script], env=base_env(home), capture_output=True, text=True,
                         check=True).stdout.split("\n")
    return out[0], out[1], out[2]


def test_env_finds_the_running_server_and_its_lines_work_in_a_shell(work):
    home, _ = work
    server = Server(home).start()
    try:
        msi, proxy, bundle = env_in_shell(home)
        assert msi == "https://127.0.0.1:%d/msi/token" % server.port
        assert proxy.startswith("http://amlemu:") and proxy.endswith("@127.0.0.1:%d" % server.port)
        assert os.path.isfile(bundle) and "BEGIN CERTIFICATE" in open(bundle).read()
        # The secrets and keys are the user's alone.
        for name in ("credentials.json", "ca-key.pem", "server-key.pem"):
            mode = stat.S_IMODE(os.stat(home / "server" / name).st_mode)
            assert mode & 0o077 == 0, "%s is mode %o" % (name, mode)
        # A second server on the same port says why it cannot start.
        second = subprocess.run([CLI, "serve", "--port", str(server.port)], env=base_env(home),
                                capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert "cannot listen on 127.0.0.1:%d" % server.port in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        server.stop()
    # Stopped: the default port again.
    msi, _, _ = env_in_shell(home)
    assert msi == "https://127.0.0.1:8643/msi/token"
    assert env_in_shell(home, 9000)[0] == "https://127.0.0.1:9000/msi/token"


def test_bad_usage_is_one_line_and_a_non_zero_exit(work):
    home, _ = work
    for args in (["serve", "--port", "70000"], ["serve", "--port", "x"], ["env", "--port", "0"]):
        r = cli(home, *args, check=False)
        assert r.returncode != 0, args
        assert "--port" in r.stderr, (args, r.stderr)
    # Nothing was started.
    assert not (home / "server" / "server.json").exists()
