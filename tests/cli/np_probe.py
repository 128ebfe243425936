#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Probes for the network policy tests (test_netpolicy_live.sh):
#   np_probe.py connect ADDR PORT     prints ok, or the errno name of the failure
#   np_probe.py udp ADDR PORT         one unconnected sendto: ok or the errno name
#   np_probe.py query SERVER NAME     one A query over UDP: the first address,
#                                     "noanswer" (nothing within 1 s) or the errno name
#   np_probe.py query SERVER NAME NAME2   the same with two questions in one query
#     query options (before SERVER): --id=N the message id (else random),
#     --edns=SIZE an EDNS0 OPT record offering SIZE bytes (answers past 512),
#     --last the last address of the answer rather than the first
#   np_probe.py spoof BIND DST PORT NAME ADDR   an unsolicited answer "NAME A ADDR"
#                                     from BIND:53 to DST:PORT
#   np_probe.py listen ADDR PORT SECS  prints "got" when a datagram arrives, else "nothing"
#   np_probe.py serve PORT            accepts TCP connections forever (in the namespace)
import errno
import random
import socket
import struct
import sys


def err_name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def connect(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((addr, int(port)))
        return "ok"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return err_name(e)
    finally:
        s.close()


def udp(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", (addr, int(port)))
        return "ok"
    except OSError as e:
        return err_name(e)
    finally:
        s.close()


def qname(name):
    q = b""
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0"


def query(server, name, name2=None, txid=None, edns=0, last=False):
    txid = random.randrange(65536) if txid is None else int(txid)
    q = struct.pack(">HHHHHH", txid, 0x0100, 2 if name2 else 1, 0, 0, 1 if edns else 0)
    q += qname(name) + struct.pack(">HH", 1, 1)
    if name2:
        q += qname(name2) + struct.pack(">HH", 1, 1)
    if edns:
        # OPT: root owner, type 41, class = the UDP payload size, no options
        q += b"\0" + struct.pack(">HHIH", 41, int(edns), 0, 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.connect((server, 53))  # glibc's way: a connected UDP socket
        s.send(q)
        data = s.recv(65535)
    except socket.timeout:
        return "noanswer"
    except OSError as e:
        return err_name(e)
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != txid:
        return "garbage"
    an = struct.unpack(">H", data[6:8])[0]
    p = 12
    while data[p]:
        p += 1 + data[p]
    p += 5
    found = None
    for _ in range(an):
        if data[p] & 0xC0 == 0xC0:
            p += 2
        else:
            while data[p]:
                p += 1 + data[p]
            p += 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[p:p + 10])
        p += 10
        if rtype == 1 and rdlen == 4:
            found = socket.inet_ntoa(data[p:p + 4])
            if not last:
                return found
        p += rdlen
    if found:
        return found
    return "nxdomain" if data[3] & 0x0F == 3 else "empty"


def spoof(bind, dst, port, name, addr):
    a = struct.pack(">HHHHHH", random.randrange(65536), 0x8180, 1, 1, 0, 0)
    a += qname(name) + struct.pack(">HH", 1, 1)
    a += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, 53))
    s.sendto(a, (dst, int(port)))
    return "sent"


def listen(addr, port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    s.settimeout(float(secs))
    print("ready", flush=True)
    try:
        s.recv(1500)
        return "got"
    except socket.timeout:
        return "nothing"


def serve(port):
    socks = []
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, int(port)))
        s.listen(64)
        socks.append(s)
    import select
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            c, _ = s.accept()
            c.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2])
    else:
        cmds = {"connect": connect, "udp": udp, "query": query, "spoof": spoof, "listen": listen}
        args = [a for a in sys.argv[2:] if not a.startswith("--")]
        opts = {}
        for a in sys.argv[2:]:
            if a.startswith("--id="):
                opts["txid"] = int(a[5:])
            elif a.startswith("--edns="):
                opts["edns"] = int(a[7:])
            elif a == "--last":
                opts["last"] = True
        print(cmds[cmd](*args, **opts), flush=True)
