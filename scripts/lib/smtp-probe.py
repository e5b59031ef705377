"""Exit 0 when HOST:PORT greets with a complete 220 reply (optionally over implicit TLS verified with CA).

usage: python3 smtp-probe.py HOST PORT [--tls CAFILE] [--timeout SECONDS]
"""
import socket
import ssl
import sys

host, port = sys.argv[1], int(sys.argv[2])
ca = sys.argv[sys.argv.index("--tls") + 1] if "--tls" in sys.argv else None
timeout = float(sys.argv[sys.argv.index("--timeout") + 1]) if "--timeout" in sys.argv else 3.0
try:
    sock = socket.create_connection((host, port), timeout=timeout)
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    buf = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            print(f"closed before a greeting: {buf!r}", file=sys.stderr)
            sys.exit(1)
        buf += chunk
        lines = buf.split(b"\r\n")
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                if line.startswith(b"220 "):
                    try:
                        sock.sendall(b"QUIT\r\n")
                    except OSError:
                        pass
                    sys.exit(0)
                print(f"greeting is not 220: {line!r}", file=sys.stderr)
                sys.exit(1)
except (OSError, ssl.SSLError) as e:
    print(f"{host}:{port}: {e}", file=sys.stderr)
    sys.exit(1)
