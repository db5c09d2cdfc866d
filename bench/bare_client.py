"""The yardstick of the batch benchmark: the least a process can do to ask 200 hosts what exchbot
asks them. Plain asyncio and ssl, three GETs per host (``/owa/``, ``/owa/auth/logon.aspx``, the
export tool's manifest), one TLS connection each, all at once; every response read to the end.

``python bench/bare_client.py PORT HOST...`` connects to 127.0.0.1:PORT with each HOST in SNI and
Host, and prints how many responses came back (bench/bench_process.py checks it).
"""

from __future__ import annotations

import asyncio
import ssl
import sys

PATHS = (
    "/owa/",
    "/owa/auth/logon.aspx",
    "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application",
)


async def get(ctx: ssl.SSLContext, port: int, host: str, path: str) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=host)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bare\r\nConnection: close\r\n\r\n".encode()
        )
        data = await reader.read()  # the server closes after one response
        return data.startswith(b"HTTP/1.1 ")
    finally:
        writer.close()


async def main(port: int, hosts: list[str]) -> int:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    results = await asyncio.gather(*(get(ctx, port, h, p) for h in hosts for p in PATHS), return_exceptions=True)
    return sum(r is True for r in results)


if __name__ == "__main__":
    print(asyncio.run(main(int(sys.argv[1]), sys.argv[2:])))
