"""The server listens on 127.0.0.1 only: the kernel's socket table shows no other address for its
port, and a connection to one of this machine's other addresses is refused."""
import socket
import struct

import pytest


def listening_addresses(port):
    """(address, port) of every listening TCP socket on `port`, from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, hexport = local.split(":")
            if state != "0A" or int(hexport, 16) != port:  # 0A: LISTEN
                continue
            if len(address) == 8:
                found.append((socket.inet_ntoa(struct.pack("<I", int(address, 16))), port))
            else:
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                found.append((socket.inet_ntop(socket.AF_INET6, words), port))
    return found


def other_addresses():
    """This machine's IPv4 addresses outside 127.0.0.0/8 (from /proc/net/fib_trie)."""
    out, lines = set(), open("/proc/net/fib_trie").read().splitlines()
    for i, line in enumerate(lines):
        if "/32 host LOCAL" in line and i > 0:
            address = lines[i - 1].split()[-1]
            if not address.startswith("127."):
                out.add(address)
    return sorted(out)


def test_the_server_listens_on_loopback_only(server):
    assert listening_addresses(server.port) == [("127.0.0.1", server.port)]
    others = other_addresses()
    if not others:
        pytest.skip("this machine has no address but loopback to try")
    for address in others:
        with socket.socket() as s:
            s.settimeout(5)
            assert s.connect_ex((address, server.port)) != 0, "the server answered on " + address
    # And it does answer on loopback.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass
