#!/usr/bin/python3
"""Lets TorchSharp 0.107.0's libLibTorchSharp.so load on a libstdc++ older than GCC 13 (Debian 12).

libLibTorchSharp.so asks libstdc++.so.6 for version GLIBCXX_3.4.32 for exactly one symbol,
_ZSt21ios_base_library_initv (std::ios_base_library_init(), which GCC 13's <iostream> references
instead of a static ios_base::Init object); Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the
dynamic loader refuses the library. This script sets the VER_FLG_WEAK bit (0x2) in vna_flags of
that one version requirement (.gnu.version_r), which makes a missing version a warning instead of
an error; the symbol itself then comes from ios_base_library_init.c, preloaded (LD_PRELOAD).

  weaken-glibcxx.py FILE...     patches each FILE in place (idempotent); prints what it did

Only ever run it on the copy in the build output (bin/...), never on the NuGet cache. Exits 1 when
a file is not a 64-bit little-endian ELF or has no such requirement, so a new TorchSharp that no
longer needs this is noticed.
"""
import os
import struct
import sys

VERSION = b"GLIBCXX_3.4.32"
SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def patch(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"weaken-glibcxx: {path}: not a 64-bit little-endian ELF file")
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)

    def section(i):  # sh_type, sh_offset, sh_link, sh_info
        base = e_shoff + i * e_shentsize
        _, sh_type, _, _, sh_offset, _, sh_link, sh_info = struct.unpack_from("<IIQQQQII", data, base)
        return sh_type, sh_offset, sh_link, sh_info

    verneed = [section(i) for i in range(e_shnum) if section(i)[0] == SHT_GNU_VERNEED]
    if not verneed:
        raise SystemExit(f"weaken-glibcxx: {path}: no .gnu.version_r section")
    _, off, link, count = verneed[0]
    strtab = section(link)[1]

    def name(o):
        end = data.index(b"\0", strtab + o)
        return bytes(data[strtab + o:end])

    found = changed = 0
    vn = off
    for _ in range(count):
        _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from("<HHIII", data, vn)
        aux = vn + vn_aux
        for _ in range(vn_cnt):
            _, vna_flags, _, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
            if name(vna_name) == VERSION:
                found += 1
                if not vna_flags & VER_FLG_WEAK:
                    struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                    changed += 1
            aux += vna_next
        vn += vn_next
    if not found:
        raise SystemExit(f"weaken-glibcxx: {path}: no {VERSION.decode()} requirement (a newer TorchSharp? then this is not needed)")
    if changed:
        # A new file renamed over the old one: a hard link into the NuGet cache stays untouched.
        tmp = path + ".weaken-tmp"
        with open(tmp, "wb") as out:
            out.write(data)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    print(f"weaken-glibcxx: {path}: {VERSION.decode()} " + ("marked weak" if changed else "already weak"))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        patch(p)
