#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-rtnetlink (tests/fuzz/corpus/rtnetlink): rtnetlink
datagrams as the kernel sends them (host byte order, 4-byte aligned messages and
attributes): link up, no carrier, removed and re-created, an address renumbered, IPv6 and
route messages that are not ours, an overrun, a truncated message.
Usage: python3 tests/fuzz/make_rtnetlink_corpus.py tests/fuzz/corpus/rtnetlink"""
import os
import struct
import sys

RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE = 16, 17, 20, 21, 24
NLMSG_DONE, NLMSG_OVERRUN = 3, 4
IFLA_IFNAME, IFLA_OPERSTATE, IFA_ADDRESS, IFA_LOCAL = 3, 16, 1, 2
IFF_UP, IFF_RUNNING = 0x1, 0x40
AF_INET, AF_INET6 = 2, 10


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def attr(kind, value):
    return pad(struct.pack("=HH", 4 + len(value), kind) + value)


def msg(kind, payload):
    return pad(struct.pack("=IHHII", 16 + len(payload), kind, 0, 0, 0) + payload)


def link(kind, index, flags, name):
    body = struct.pack("=BBHiII", 0, 0, 1, index, flags, 0xFFFFFFFF)
    return msg(kind, body + attr(IFLA_IFNAME, name.encode() + b"\0") + attr(IFLA_OPERSTATE, b"\x06"))


def addr(kind, index, address, prefix, family=AF_INET):
    value = bytes(address) if family == AF_INET else bytes(16)
    body = struct.pack("=BBBBI", family, prefix, 0x80, 0, index)
    return msg(kind, body + attr(IFA_ADDRESS, value) + attr(IFA_LOCAL, value))


SEEDS = {
    "link_up": link(RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING, "dante0"),
    "link_no_carrier": link(RTM_NEWLINK, 7, IFF_UP, "dante0"),
    "link_removed_recreated": link(RTM_DELLINK, 7, 0, "dante0") + link(RTM_NEWLINK, 12, IFF_UP | IFF_RUNNING, "dante0")
    + addr(RTM_NEWADDR, 12, [10, 77, 1, 2], 24),
    "address_renumbered": link(RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING, "dante0") + addr(RTM_NEWADDR, 7, [10, 77, 1, 2], 24)
    + addr(RTM_NEWADDR, 7, [10, 77, 2, 3], 24) + addr(RTM_DELADDR, 7, [10, 77, 1, 2], 24),
    "ipv6_and_route": addr(RTM_NEWADDR, 7, [0] * 4, 64, AF_INET6) + msg(RTM_NEWROUTE, bytes(12)) + msg(NLMSG_DONE, bytes(4)),
    "overrun": msg(NLMSG_OVERRUN, b""),
    "truncated": link(RTM_NEWLINK, 7, IFF_UP, "dante0")[:27],
}

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "rtnetlink")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
