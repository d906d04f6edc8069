#!/usr/bin/env python3
"""Independent verifier of Zegel proof bundles and certificates of destruction.

Written from the specifications in formats/*.md, formats/zegel.cddl and
formats/vectors/README.md only, without reading Zegel's code; the report renderer and the
chain, consistency, segment and tiles checks were added later, following the specs, by someone who
had read the reference code (README.md beside this file says more).

Usage:
  zegel_verify.py bundle      --key KEY FILE      KEY: verifier key text, a file holding it,
  zegel_verify.py certificate --key KEY FILE           or (bundle only) a 64-hex fingerprint
  zegel_verify.py package     --key KEY FILE [--checkpoint NOTE_FILE] [--proof FILE] [--receipt FILE]
  zegel_verify.py vector VECTOR.json [VECTOR.json ...]

Exit status: 0 every check passed (or was skipped), 1 a check failed (or a vector did not give
its expectation), 2 usage error or an input that could not be read.

Dependencies: Python 3.11, `cryptography` (Ed25519), and the `zstd` command line tool
(decompression of sealed packages; the frame structure is checked here first).
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# ----------------------------------------------------------------------------- limits (cbor.md §3)

CBOR_DEPTH_MAX = 8
CBOR_ITEMS_MAX = 100000
HEADER_BYTES_MAX = 65536
METADATA_FIELDS_MAX = 64
METADATA_NAME_BYTES_MAX = 64
METADATA_VALUE_BYTES_MAX = 4096
OBJECTS_MAX = 64
OBJECT_NAME_BYTES_MAX = 255
MEDIA_TYPE_BYTES_MAX = 127
RECORD_KEY_BYTES_MAX = 512
IDENTIFIER_BYTES_MAX = 64
OBJECT_BYTES_MAX = 67108864
SEALED_BYTES_MAX = 100663296
PACKAGE_RAW_BYTES_MAX = 83886080
PACKAGE_ENVELOPE_SLACK_BYTES = 1024
INCLUSION_HASHES_MAX = 64
CONSISTENCY_HASHES_MAX = 128
PROOF_BYTES_MAX = 8192
NOTE_BYTES_MAX = 16384
NOTE_SIGNATURES_MAX = 16
NOTE_NAME_BYTES_MAX = 256
DISPOSITION_PACKAGES_MAX = 10000
DISPOSITION_BASIS_BYTES_MAX = 1000
AUTHORIZER_BYTES_MAX = 64
AUTHORIZERS_MAX = 16
CERTIFICATE_BYTES_MAX = 67108864
BUNDLE_BYTES_MAX = 134217728
BUNDLE_CHECKPOINTS_MAX = 16
BUNDLE_KEYS_MAX = 16
BUNDLE_DISPOSITIONS_MAX = 16
BUNDLE_REPORT_BYTES_MAX = 4194304
ZSTD_WINDOW_MAX = 1 << 27  # sealed-package.md §3

KIND_NAMES = {1: "record", 2: "document", 3: "agreement", 4: "disposition", 5: "audit", 6: "access"}
KIND_AGREEMENT = 3
KIND_DISPOSITION = 4
DISPOSITION_OBJECT_NAME = "disposition.cbor"
DISPOSITION_MEDIA_TYPE = "application/vnd.zegel.disposition+cbor"
RECEIPT_PREFIX = b"zegel/receipt/v1\x00"  # receipt.md §3


class Refused(Exception):
    """An input refused by a decoder (cbor.md §1: rejected whole)."""


def refuse(msg):
    raise Refused(msg)


def sha256(b):
    return hashlib.sha256(b).digest()


def hx(b):
    return b.hex()


# ----------------------------------------------------------------------------- CBOR (cbor.md §2, §3, §5)
#
# A decoder strict enough on its own (cbor.md §5 allows this): with shortest heads, definite
# lengths, strictly ascending map keys, no tags and no floats, every value has exactly one
# encoding, so a successful decode is the round trip of §5 step 3.


class CMap(list):
    """A decoded CBOR map: a list of (key, value) pairs in encoding order."""


def cbor_decode(data):
    if not isinstance(data, (bytes, bytearray)):
        refuse("not bytes")
    data = bytes(data)
    if not data:
        refuse("CBOR: empty input")
    state = [0]
    value, pos = _cbor_item(data, 0, 0, state)
    if pos != len(data):
        refuse("CBOR: %d byte(s) after the data item" % (len(data) - pos))
    return value


def _cbor_head(data, pos):
    if pos >= len(data):
        refuse("CBOR: truncated")
    ib = data[pos]
    mt, ai = ib >> 5, ib & 31
    pos += 1
    if ai < 24:
        return mt, ai, pos
    if ai <= 27:
        n = 1 << (ai - 24)
        if pos + n > len(data):
            refuse("CBOR: truncated head")
        arg = int.from_bytes(data[pos:pos + n], "big")
        if arg < (24, 256, 65536, 1 << 32)[ai - 24]:
            refuse("CBOR: argument %d not in its shortest head" % arg)
        return mt, arg, pos + n
    if ai == 31:
        refuse("CBOR: indefinite length or break")
    refuse("CBOR: reserved additional information %d" % ai)


def _cbor_item(data, pos, depth, state):
    state[0] += 1
    if state[0] > CBOR_ITEMS_MAX:
        refuse("CBOR: more than %d data items" % CBOR_ITEMS_MAX)
    if depth > CBOR_DEPTH_MAX:
        refuse("CBOR: nested deeper than %d" % CBOR_DEPTH_MAX)
    if pos >= len(data):
        refuse("CBOR: truncated")
    ib = data[pos]
    if ib >> 5 == 7:
        if ib == 0xF4:
            return False, pos + 1
        if ib == 0xF5:
            return True, pos + 1
        if ib == 0xF6:
            return None, pos + 1
        if ib == 0xFF or (ib & 31) == 31:
            refuse("CBOR: break byte")
        refuse("CBOR: float or simple value 0x%02x" % ib)
    if ib >> 5 == 6:
        refuse("CBOR: tag")
    mt, arg, pos = _cbor_head(data, pos)
    remaining = len(data) - pos
    if mt == 0:
        return arg, pos
    if mt == 1:
        return -1 - arg, pos
    if mt in (2, 3):
        if arg > remaining:
            refuse("CBOR: string longer than the input")
        raw = data[pos:pos + arg]
        pos += arg
        if mt == 2:
            return raw, pos
        try:
            return raw.decode("utf-8", errors="strict"), pos
        except UnicodeDecodeError:
            refuse("CBOR: text string is not UTF-8")
    if mt == 4:
        if arg > remaining:
            refuse("CBOR: array declares more members than bytes left")
        out = []
        for _ in range(arg):
            v, pos = _cbor_item(data, pos, depth + 1, state)
            out.append(v)
        return out, pos
    if mt == 5:
        if 2 * arg > remaining:
            refuse("CBOR: map declares more members than bytes left")
        out = CMap()
        prev = None
        for _ in range(arg):
            start = pos
            k, pos = _cbor_item(data, pos, depth + 1, state)
            enc = data[start:pos]
            if prev is not None and not enc > prev:
                refuse("CBOR: map keys not in strictly ascending order (or repeated)")
            prev = enc
            v, pos = _cbor_item(data, pos, depth + 1, state)
            out.append((k, v))
        return out, pos
    refuse("CBOR: bad major type")  # unreachable


def is_uint(v):
    return type(v) is int and v >= 0


def is_bytes(v, n=None):
    return type(v) is bytes and (n is None or len(v) == n)


def is_text(v):
    return type(v) is str


def tlen(s):
    return len(s.encode("utf-8"))


def cmap_fields(v, n, what):
    """cbor.md §4: a map with exactly the unsigned keys 0..n-1."""
    if not isinstance(v, CMap):
        refuse("%s: not a map" % what)
    if len(v) != n:
        refuse("%s: map of %d entries, expected %d" % (what, len(v), n))
    out = []
    for i, (k, val) in enumerate(v):
        if type(k) is not int or k != i:
            refuse("%s: unexpected key %r" % (what, k))
        out.append(val)
    return out


def want(cond, msg):
    if not cond:
        refuse(msg)


# ----------------------------------------------------------------------------- text rules


def has_cc(s):
    """Unicode general category Cc: U+0000-U+001F, U+007F-U+009F (package-header.md §3.3)."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in s)


WHITE_SPACE = set([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029,
                   0x202F, 0x205F, 0x3000] + list(range(0x2000, 0x200B)))

IDENTIFIER_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
METADATA_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_RN = r"[a-z0-9][a-z0-9!#$&\-^_.+]{0,62}"
MEDIA_TYPE_RE = re.compile(_RN + "/" + _RN + r"(;" + _RN + r"=[A-Za-z0-9!#$&\-^_.+]{1,63})*\Z")
HEX8_RE = re.compile(r"[0-9a-f]{8}\Z")
HEX64_RE = re.compile(r"[0-9a-f]{64}\Z")


def valid_key_name(name):
    """signed-note.md §3.1."""
    return (is_text(name) and 1 <= tlen(name) <= NOTE_NAME_BYTES_MAX and "+" not in name
            and not has_cc(name) and not any(ord(c) in WHITE_SPACE for c in name))


def valid_identifier(s):
    return is_text(s) and IDENTIFIER_RE.match(s) is not None


def b64_canonical(s):
    """RFC 4648 §4 with padding, canonical: refuses bad padding and non-zero unused bits."""
    if not isinstance(s, str) or not s.isascii():
        return None
    try:
        raw = base64.b64decode(s, validate=True)
    except Exception:
        return None
    if base64.b64encode(raw).decode("ascii") != s:
        return None
    return raw


# ----------------------------------------------------------------------------- Ed25519 (algorithms.md §3)

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def ed_decode_point(b, canonical=True):
    """Decode a 32-byte point encoding; None if it is not a (canonical) point encoding. With
    canonical=False, as signed-note.md §3.3 decodes public keys: y >= p is read mod p, and
    x = 0 with the sign bit set is accepted."""
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        if canonical:
            return None
        y -= _P
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x == 0 and sign:
        return None if canonical else (0, y)
    if (x & 1) != sign:
        x = _P - x
    return (x, y)


def _ed_add(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return (x3, y3)


def ed_small_order(pt):
    q = pt
    for _ in range(3):
        q = _ed_add(q, q)
    return q == (0, 1)


def ed25519_verify_strict(public, sig, msg):
    """Strict verification: S < L, A and R not of small order, cofactorless equation."""
    if len(public) != 32 or len(sig) != 64:
        return False
    if int.from_bytes(sig[32:], "little") >= _L:
        return False
    a = ed_decode_point(public, canonical=False)
    r = ed_decode_point(sig[:32])
    if a is None or r is None or ed_small_order(a) or ed_small_order(r):
        return False
    try:
        # OpenSSL's Ed25519 verification compares the encoding of [S]B - [k]A with R byte for
        # byte (the cofactorless equation).
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


# ----------------------------------------------------------------------------- keys (signed-note.md §3)


class Key:
    def __init__(self, name, key_id, public, text):
        self.name, self.key_id, self.public, self.text = name, key_id, public, text

    @property
    def fingerprint(self):
        return key_hash(self.name, self.public)

    def label(self):
        return "%s+%s" % (self.name, hx(self.key_id))


def key_hash(name, public):
    return sha256(name.encode("utf-8") + b"\n\x01" + public)


def parse_verifier_key(text, strip=True):
    if strip:
        text = text.strip("".join(chr(c) for c in WHITE_SPACE))
    parts = text.split("+", 2)
    if len(parts) != 3:
        refuse("key text: not <name>+<key id>+<base64>")
    name, kid_hex, b64 = parts
    if not valid_key_name(name):
        refuse("key text: invalid key name")
    if not HEX8_RE.match(kid_hex):
        refuse("key text: key id is not 8 lower-case hex digits")
    raw = b64_canonical(b64)
    if raw is None or len(raw) != 33 or raw[0] != 0x01:
        refuse("key text: not base64 of 01 and a 32-byte public key")
    public = raw[1:]
    if ed_decode_point(public, canonical=False) is None:
        refuse("key text: not a valid Ed25519 point encoding")
    kid = bytes.fromhex(kid_hex)
    if key_hash(name, public)[:4] != kid:
        refuse("key text: key id does not match the name and public key")
    return Key(name, kid, public, text)


# ----------------------------------------------------------------------------- zstd (sealed-package.md §3)


def zstd_check_frame(buf):
    """Walk the frame structure: exactly one Zstandard frame, no dictionary, window <= 2^27."""
    n = len(buf)
    if n < 6 or buf[:4] != b"\x28\xb5\x2f\xfd":
        refuse("zstd: not a Zstandard frame")
    pos = 4
    fhd = buf[pos]
    pos += 1
    fcs_flag, single, reserved, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 3) & 1, (fhd >> 2) & 1, fhd & 3
    if reserved:
        refuse("zstd: reserved frame header bit set")
    window = None
    if not single:
        if pos >= n:
            refuse("zstd: truncated frame header")
        wd = buf[pos]
        pos += 1
        base = 1 << (10 + (wd >> 3))
        window = base + (base >> 3) * (wd & 7)
    dsize = (0, 1, 2, 4)[dict_flag]
    if pos + dsize > n:
        refuse("zstd: truncated frame header")
    if int.from_bytes(buf[pos:pos + dsize], "little") != 0:
        refuse("zstd: frame names a dictionary")
    pos += dsize
    fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if pos + fcs_size > n:
        refuse("zstd: truncated frame header")
    fcs = int.from_bytes(buf[pos:pos + fcs_size], "little") + (256 if fcs_size == 2 else 0)
    pos += fcs_size
    if single:
        window = fcs
    if window > ZSTD_WINDOW_MAX:
        refuse("zstd: window size above 2^27")
    while True:
        if pos + 3 > n:
            refuse("zstd: frame cut short")
        bh = int.from_bytes(buf[pos:pos + 3], "little")
        pos += 3
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        if btype == 3:
            refuse("zstd: reserved block type")
        pos += 1 if btype == 1 else bsize
        if pos > n:
            refuse("zstd: frame cut short")
        if last:
            break
    if checksum:
        pos += 4
        if pos > n:
            refuse("zstd: frame cut short")
    if pos != n:
        refuse("zstd: %d byte(s) after the frame (only one frame is allowed)" % (n - pos))


def zstd_decompress(buf, limit):
    zstd_check_frame(buf)
    with tempfile.NamedTemporaryFile(prefix="zegel-indep-", suffix=".zst", delete=False) as f:
        f.write(buf)
        path = f.name
    try:
        proc = subprocess.Popen(["zstd", "-d", "-c", "-q", "--memory=128MB", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        chunks, total, over = [], 0, False
        while True:
            chunk = proc.stdout.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                over = True
                proc.kill()
                break
            chunks.append(chunk)
        err = proc.stderr.read()
        proc.wait()
        if over:
            refuse("zstd: decompresses to more than %d bytes" % limit)
        if proc.returncode != 0:
            refuse("zstd: %s" % (err.decode("utf-8", "replace").strip().splitlines() or ["cannot decompress"])[-1])
        return b"".join(chunks)
    finally:
        os.unlink(path)


# ----------------------------------------------------------------------------- package (package-header.md, sealed-package.md)


class Header:
    pass


def decode_header(raw):
    want(len(raw) <= HEADER_BYTES_MAX, "header: larger than HEADER_BYTES_MAX")
    f = cmap_fields(cbor_decode(raw), 13, "header")
    h = Header()
    h.raw = raw
    want(type(f[0]) is int and f[0] == 1, "header: unknown version")
    want(type(f[1]) is int and f[1] == 1, "header: unknown hash-alg")
    want(valid_identifier(f[2]), "header: tenant is not an identifier")
    want(valid_identifier(f[3]), "header: archive is not an identifier")
    h.tenant, h.archive = f[2], f[3]
    want(is_uint(f[4]), "header: seq is not a uint")
    h.seq = f[4]
    if h.seq == 0:
        want(f[5] is None, "header: prev must be null at seq 0")
    else:
        want(is_bytes(f[5], 32), "header: prev must be a 32-byte hash")
    h.prev = f[5]
    want(is_uint(f[6]), "header: time is not a uint")
    h.time = f[6]
    want(type(f[7]) is int and f[7] in KIND_NAMES, "header: unknown kind")
    h.kind = f[7]
    ag = f[8]
    if ag is not None:
        want(type(ag) is list and len(ag) == 2 and is_uint(ag[0]) and is_uint(ag[1]),
             "header: agreement is not [uint, uint]")
        want(ag[1] < h.seq, "header: agreement seq not below the header's seq")
    elif h.kind in (1, 2):
        refuse("header: agreement required for kind %s" % KIND_NAMES[h.kind])
    h.agreement = ag
    rk = f[9]
    if rk is not None:
        want(is_text(rk) and 1 <= tlen(rk) <= RECORD_KEY_BYTES_MAX and not has_cc(rk),
             "header: invalid record key")
    elif h.kind == 1:
        refuse("header: record key required for kind record")
    h.record_key = rk
    md = f[10]
    want(isinstance(md, CMap), "header: metadata is not a map")
    want(len(md) <= METADATA_FIELDS_MAX, "header: too many metadata fields")
    for k, v in md:
        want(is_text(k) and METADATA_NAME_RE.match(k) is not None, "header: invalid metadata name")
        if type(v) is bool:
            continue
        if type(v) is int:
            want(-(2 ** 63) <= v < 2 ** 63, "header: metadata integer out of range")
            continue
        want(is_text(v), "header: metadata value of another type")
        want(tlen(v) <= METADATA_VALUE_BYTES_MAX, "header: metadata value too long")
        want(not any(has_cc(c) for c in v if c not in "\t\n\r"), "header: control character in metadata")
    h.metadata = md
    objs = f[11]
    want(type(objs) is list and len(objs) <= OBJECTS_MAX, "header: objects is not an array of at most 64")
    names = set()
    total = 0
    h.objects = []
    for o in objs:
        want(type(o) is list and len(o) == 4, "header: object entry is not [name, type, size, digest]")
        name, mtype, size, digest = o
        want(is_text(name) and 1 <= tlen(name) <= OBJECT_NAME_BYTES_MAX and not has_cc(name)
             and "/" not in name and "\\" not in name and name not in (".", ".."),
             "header: invalid object name")
        want(name not in names, "header: repeated object name")
        names.add(name)
        want(is_text(mtype) and tlen(mtype) <= MEDIA_TYPE_BYTES_MAX and MEDIA_TYPE_RE.match(mtype) is not None,
             "header: invalid media type")
        want(is_uint(size) and size <= OBJECT_BYTES_MAX, "header: invalid object size")
        want(is_bytes(digest, 32), "header: digest is not 32 bytes")
        total += size
        h.objects.append((name, mtype, size, digest))
    want(total <= PACKAGE_RAW_BYTES_MAX - HEADER_BYTES_MAX - PACKAGE_ENVELOPE_SLACK_BYTES,
         "header: objects too large to open")
    want(f[12] is None or is_uint(f[12]), "header: retain until is not a uint or null")
    h.retain_until = f[12]
    h.leaf = sha256(b"\x00" + raw)
    return h


class Package:
    pass


def open_package(sealed):
    """sealed-package.md §4 steps 1-5."""
    want(is_bytes(sealed), "package: not bytes")
    want(len(sealed) <= SEALED_BYTES_MAX, "package: larger than SEALED_BYTES_MAX")
    raw = zstd_decompress(sealed, PACKAGE_RAW_BYTES_MAX)
    v = cbor_decode(raw)
    want(type(v) is list and len(v) == 3, "package: not an array of three")
    want(type(v[0]) is int and v[0] == 1, "package: unknown envelope version")
    want(is_bytes(v[1]) and len(v[1]) <= HEADER_BYTES_MAX, "package: header is not a byte string within the limit")
    want(type(v[2]) is list and len(v[2]) <= OBJECTS_MAX
         and all(o is None or is_bytes(o) for o in v[2]), "package: objects is not an array of bstr/null")
    h = decode_header(v[1])
    want(len(v[2]) == len(h.objects), "package: %d object(s) for %d in the header" % (len(v[2]), len(h.objects)))
    p = Package()
    p.raw = raw
    p.header = h
    p.objects = v[2]
    return p


def fixity(p, i):
    """Returns (verdict, reason): 'ok', 'fail' or 'withheld'."""
    name, _mt, size, digest = p.header.objects[i]
    o = p.objects[i]
    if o is None:
        return "withheld", "%s: withheld, only its digest %s is attested" % (json.dumps(name), hx(digest))
    if len(o) != size:
        return "fail", "%s: %d bytes, the header says %d" % (json.dumps(name), len(o), size)
    if sha256(o) != digest:
        return "fail", "%s: SHA-256 %s differs from the header's %s" % (json.dumps(name), hx(sha256(o)), hx(digest))
    return "ok", "%s: %d bytes, SHA-256 matches the header" % (json.dumps(name), size)


# ----------------------------------------------------------------------------- proofs (proofs.md)


def bitlen(x):
    return x.bit_length()


def popcount(x):
    return bin(x).count("1")


def node(l, r):
    return sha256(b"\x01" + l + r)


def decode_proof(raw, typ):
    want(is_bytes(raw), "proof: not bytes")
    want(len(raw) <= PROOF_BYTES_MAX, "proof: larger than PROOF_BYTES_MAX")
    f = cmap_fields(cbor_decode(raw), 6, "proof")
    want(type(f[0]) is int and f[0] == 1, "proof: unknown version")
    want(type(f[1]) is int and f[1] in (1, 2), "proof: unknown type")
    want(f[1] == typ, "proof: a %s proof where a %s proof is expected" % (
        ("inclusion", "consistency")[f[1] - 1], ("inclusion", "consistency")[typ - 1]))
    want(type(f[2]) is int and f[2] == 1, "proof: unknown hash-alg")
    want(is_uint(f[3]) and is_uint(f[4]), "proof: sizes are not uints")
    limit = INCLUSION_HASHES_MAX if typ == 1 else CONSISTENCY_HASHES_MAX
    want(type(f[5]) is list and len(f[5]) <= limit, "proof: path is not an array within the limit")
    want(all(is_bytes(x, 32) for x in f[5]), "proof: path element is not 32 bytes")
    return f[3], f[4], f[5]


def verify_inclusion(leaf, m, n, path, root):
    """proofs.md §3.1."""
    if m >= n:
        return False
    inner = bitlen(m ^ (n - 1))
    if len(path) != inner + popcount(m >> inner):
        return False
    fn, sn, r = m, n - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, old_root, n, new_root, proof):
    """proofs.md §3.2."""
    if m == 0 or m > n:
        return False
    if m == n:
        return len(proof) == 0 and old_root == new_root
    inner = bitlen((m - 1) ^ (n - 1))
    border = popcount((m - 1) >> inner)
    t = (m & -m).bit_length() - 1
    pow2 = m & (m - 1) == 0
    if len(proof) != inner - t + border + (0 if pow2 else 1):
        return False
    path = ([old_root] if pow2 else []) + list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# ----------------------------------------------------------------------------- notes and checkpoints


def parse_note(note):
    """signed-note.md §2. Returns (text bytes, [(name, key id, signature)])."""
    want(is_text(note), "note: not text")
    raw = note.encode("utf-8")
    want(len(raw) <= NOTE_BYTES_MAX, "note: larger than NOTE_BYTES_MAX")
    want(not any(b < 0x20 and b != 0x0A or b == 0x7F for b in raw), "note: control character")
    i = raw.rfind(b"\n\n")
    want(i >= 0, "note: no empty line between text and signatures")
    text, block = raw[:i + 1], raw[i + 2:]
    want(block.endswith(b"\n"), "note: signature block does not end in LF")
    lines = block[:-1].split(b"\n")
    want(all(lines), "note: empty signature line")
    want(len(lines) <= NOTE_SIGNATURES_MAX, "note: too many signature lines")
    sigs = []
    for line in lines:
        want(line.startswith("\u2014 ".encode("utf-8")), "note: signature line does not start with an em dash")
        rest = line[4:].decode("utf-8")
        parts = rest.split(" ")
        want(len(parts) == 2, "note: signature line is not '— <name> <base64>'")
        name, b64 = parts
        want(valid_key_name(name), "note: invalid key name in a signature line")
        sig = b64_canonical(b64)
        want(sig is not None and len(sig) >= 5, "note: signature is not canonical base64 of at least 5 bytes")
        sigs.append((name, sig[:4], sig[4:]))
    return text, sigs


def verify_note(text, sigs, key):
    """signed-note.md §4. Returns None or a failure reason."""
    selected = [s for n, kid, s in sigs if n == key.name and kid == key.key_id]
    if not selected:
        return "no signature by %s" % key.label()
    for s in selected:
        if not ed25519_verify_strict(key.public, s, text):
            return "the signature by %s does not verify" % key.label()
    return None


def parse_checkpoint_body(text):
    """checkpoint.md §2. Returns (origin, size, root)."""
    want(text.endswith(b"\n"), "checkpoint: body does not end in LF")
    lines = text[:-1].split(b"\n")
    want(len(lines) >= 3 and all(lines), "checkpoint: body needs three non-empty lines")
    origin = lines[0].decode("utf-8")
    want(valid_key_name(origin), "checkpoint: invalid origin")
    s = lines[1].decode("ascii", "replace")
    want(re.fullmatch(r"0|[1-9][0-9]{0,19}", s) is not None and int(s) < 2 ** 64, "checkpoint: invalid tree size")
    root = b64_canonical(lines[2].decode("ascii", "replace"))
    want(root is not None and len(root) == 32, "checkpoint: root is not canonical base64 of 32 bytes")
    return origin, int(s), root


class Checkpoint:
    pass


# ----------------------------------------------------------------------------- receipts (receipt.md)


class Receipt:
    pass


def decode_receipt(raw):
    want(is_bytes(raw), "receipt: not bytes")
    want(len(raw) <= PROOF_BYTES_MAX, "receipt: larger than PROOF_BYTES_MAX")
    f = cmap_fields(cbor_decode(raw), 9, "receipt")
    want(type(f[0]) is int and f[0] == 1, "receipt: unknown version")
    want(type(f[1]) is int and f[1] == 1, "receipt: unknown sig-alg")
    want(is_text(f[2]) and 1 <= tlen(f[2]) <= NOTE_NAME_BYTES_MAX, "receipt: invalid key name")
    want(is_bytes(f[3], 4), "receipt: key id is not 4 bytes")
    want(is_bytes(f[4]), "receipt: head is not bytes")
    want(is_bytes(f[5], 64), "receipt: signature is not 64 bytes")
    want(is_uint(f[6]), "receipt: seq is not a uint")
    want(is_bytes(f[7], 32), "receipt: leaf is not 32 bytes")
    want(type(f[8]) is list and len(f[8]) <= INCLUSION_HASHES_MAX and all(is_bytes(x, 32) for x in f[8]),
         "receipt: invalid path")
    hf = cmap_fields(cbor_decode(f[4]), 6, "receipt head")
    want(type(hf[0]) is int and hf[0] == 1, "receipt head: unknown version")
    want(type(hf[1]) is int and hf[1] == 1, "receipt head: unknown hash-alg")
    want(is_text(hf[2]) and 1 <= tlen(hf[2]) <= NOTE_NAME_BYTES_MAX, "receipt head: invalid origin")
    want(is_uint(hf[3]), "receipt head: tree size is not a uint")
    want(is_bytes(hf[4], 32), "receipt head: root is not 32 bytes")
    want(is_uint(hf[5]), "receipt head: time is not a uint")
    r = Receipt()
    r.key_name, r.key_id, r.head_raw, r.signature, r.seq, r.leaf, r.path = f[2], f[3], f[4], f[5], f[6], f[7], f[8]
    r.origin, r.size, r.root, r.time = hf[2], hf[3], hf[4], hf[5]
    return r


# ----------------------------------------------------------------------------- disposition (disposition.md §2)


class Disposition:
    pass


def decode_disposition(raw):
    f = cmap_fields(cbor_decode(raw), 6, "disposition")
    want(type(f[0]) is int and f[0] == 1, "disposition: unknown version")
    want(type(f[1]) is int and f[1] in (0, 1), "disposition: unknown cause")
    want(is_text(f[2]) and 1 <= tlen(f[2]) <= DISPOSITION_BASIS_BYTES_MAX
         and not any(has_cc(c) for c in f[2] if c not in "\t\r\n"), "disposition: invalid basis")
    want(type(f[3]) is list and 1 <= len(f[3]) <= AUTHORIZERS_MAX, "disposition: authorized_by not 1-16 ids")
    for a in f[3]:
        want(is_text(a) and 1 <= tlen(a) <= AUTHORIZER_BYTES_MAX and not has_cc(a), "disposition: invalid authorizer")
    want(is_uint(f[4]), "disposition: decided_ms is not a uint")
    want(type(f[5]) is list and 1 <= len(f[5]) <= DISPOSITION_PACKAGES_MAX, "disposition: packages not 1-10000 entries")
    pk = []
    for e in f[5]:
        want(type(e) is list and len(e) == 2 and is_uint(e[0]) and is_bytes(e[1], 32),
             "disposition: package entry is not [seq, leaf]")
        pk.append((e[0], e[1]))
    if f[1] == 1:
        want(len(f[3]) == 2 and f[3][0] != f[3][1], "disposition: an erasure needs exactly two distinct authorizers")
    for a, b in zip(pk, pk[1:]):
        want(a[0] < b[0], "disposition: packages not in strictly ascending seq")
    d = Disposition()
    d.cause, d.basis, d.authorized_by, d.decided_ms, d.packages = f[1], f[2], f[3], f[4], pk
    return d


# ----------------------------------------------------------------------------- check runner


class Stop(Exception):
    pass


class Run:
    def __init__(self, out=sys.stdout, quiet=False):
        self.results = []
        self.out = out
        self.quiet = quiet

    def _add(self, verdict, name, cat, reason):
        self.results.append((verdict, name, cat, reason))
        if not self.quiet:
            tag = {"ok": "ok", "fail": "FAIL", "skip": "skip"}[verdict]
            if verdict == "fail":
                reason = "[%s] %s" % (cat, reason)
            print("%-5s %-27s %s" % (tag, name, reason), file=self.out)

    def ok(self, name, reason):
        self._add("ok", name, None, reason)

    def skip(self, name, reason):
        self._add("skip", name, None, reason)

    def fail(self, name, cat, reason, stop=False):
        self._add("fail", name, cat, reason)
        if stop:
            raise Stop()

    def first_failure(self):
        for v, n, c, _ in self.results:
            if v == "fail":
                return c, n
        return "ok", None

    def finish(self):
        cat, name = self.first_failure()
        if not self.quiet:
            npass = sum(1 for r in self.results if r[0] == "ok")
            nskip = sum(1 for r in self.results if r[0] == "skip")
            if cat == "ok":
                print("VERIFIED: %d checks passed%s" % (npass, ", %d skipped" % nskip if nskip else ""), file=self.out)
            else:
                nfail = sum(1 for r in self.results if r[0] == "fail")
                print("FAILED: %d check(s) failed, the first %s (%s)" % (nfail, name, cat), file=self.out)
        return cat, name


def check_checkpoint(run, prefix, note, key, expected_origin):
    """checkpoint.md §4 as checks <prefix>.decode/.signature/.origin; stops on failure."""
    try:
        text, sigs = parse_note(note)
    except Refused as e:
        run.fail(prefix + ".decode", "decode-error", str(e), stop=True)
    bad = verify_note(text, sigs, key)
    if bad:
        run.fail(prefix + ".signature", "bad-signature", bad, stop=True)
    try:
        origin, size, root = parse_checkpoint_body(text)
    except (Refused, UnicodeDecodeError) as e:
        run.fail(prefix + ".decode", "decode-error", str(e), stop=True)
    run.ok(prefix + ".signature", "signed by %s" % key.label())
    if origin != expected_origin:
        run.fail(prefix + ".origin", "bad-origin", "origin %s, expected %s" % (origin, expected_origin), stop=True)
    run.ok(prefix + ".origin", "%s, tree size %d" % (origin, size))
    c = Checkpoint()
    c.origin, c.size, c.root = origin, size, root
    return c


def check_receipt(run, raw, key, expect_origin, expect_seq, header, leaf_if_absent=None):
    """receipt.md §5 as checks receipt.decode/.signature/.inclusion/.package; stops on failure."""
    try:
        r = decode_receipt(raw)
    except Refused as e:
        run.fail("receipt.decode", "decode-error", str(e), stop=True)
    if r.key_name != key.name or r.key_id != key.key_id:
        run.fail("receipt.signature", "bad-signature", "receipt by %s+%s, not by the trusted key %s" % (
            r.key_name, hx(r.key_id), key.label()), stop=True)
    if not ed25519_verify_strict(key.public, r.signature, RECEIPT_PREFIX + r.head_raw):
        run.fail("receipt.signature", "bad-signature", "the signature does not verify", stop=True)
    if not verify_inclusion(r.leaf, r.seq, r.size, r.path, r.root):
        run.fail("receipt.inclusion", "bad-proof", "the path does not prove leaf %d in the tree of %d" % (r.seq, r.size), stop=True)
    run.ok("receipt.signature", "tree of %d signed at %d ms by %s" % (r.size, r.time, key.label()))
    problems = []
    if r.origin != expect_origin:
        problems.append("origin %s, expected %s" % (r.origin, expect_origin))
    if r.seq != expect_seq:
        problems.append("seq %d, expected %d" % (r.seq, expect_seq))
    if header is not None:
        if r.leaf != header.leaf:
            problems.append("leaf %s, the package's is %s" % (hx(r.leaf), hx(header.leaf)))
        if r.time < header.time:
            problems.append("signed at %d, before the header's time %d" % (r.time, header.time))
    if problems:
        run.fail("receipt.package", "bad-receipt", "; ".join(problems), stop=True)
    run.ok("receipt.package", "receipt names this package: leaf %s at seq %d" % (hx(r.leaf), r.seq))
    return r


def check_package_set(run, sealed, key, note=None, proof_raw=None, receipt_raw=None, stop_after=False):
    """vectors/README.md §3.1: the `package` checks. Returns (package, checkpoint)."""
    try:
        p = open_package(sealed)
    except Refused as e:
        run.fail("package.decode", "decode-error", str(e), stop=True)
    h = p.header
    run.ok("package.decode", "%s package %s/%s seq %d (%d objects, header %d bytes)" % (
        KIND_NAMES[h.kind], h.tenant, h.archive, h.seq, len(h.objects), len(h.raw)))
    any_failed = False
    for i in range(len(h.objects)):
        verdict, reason = fixity(p, i)
        if verdict == "ok":
            run.ok("object.%d" % i, reason)
        elif verdict == "withheld":
            run.skip("object.%d" % i, reason)
        else:
            run.fail("object.%d" % i, "bad-digest", reason)
            any_failed = True
    run.ok("package.leaf-hash", hx(h.leaf))
    origin = "%s/%s/%s" % (key.name, h.tenant, h.archive)
    cp = None
    if note is not None:
        cp = check_checkpoint(run, "checkpoint", note, key, origin)
        if proof_raw is not None:
            try:
                idx, size, path = decode_proof(proof_raw, 1)
                if idx != h.seq or size != cp.size:
                    run.fail("proof.inclusion", "bad-proof", "proof for leaf %d in the tree of %d, expected leaf %d in the tree of %d" % (
                        idx, size, h.seq, cp.size))
                    any_failed = True
                elif not verify_inclusion(h.leaf, idx, size, path, cp.root):
                    run.fail("proof.inclusion", "bad-proof", "the path does not lead from the leaf to the checkpoint's root")
                    any_failed = True
                else:
                    run.ok("proof.inclusion", "leaf %d is in the tree of %d with root %s" % (idx, size, hx(cp.root)))
            except Refused as e:
                run.fail("proof.decode", "decode-error", str(e))
                any_failed = True
        else:
            run.skip("proof.inclusion", "no proof given")
    else:
        run.skip("checkpoint.signature", "no checkpoint given")
    if receipt_raw is not None:
        check_receipt(run, receipt_raw, key, origin, h.seq, h)
    if stop_after and any_failed:
        raise Stop()
    return p, cp


# ----------------------------------------------------------------------------- certificate (disposition.md §4, §5)


def decode_certificate(raw):
    want(len(raw) <= CERTIFICATE_BYTES_MAX, "certificate: larger than CERTIFICATE_BYTES_MAX")
    f = cmap_fields(cbor_decode(raw), 6, "certificate")
    want(type(f[0]) is int and f[0] == 1, "certificate: unknown version")
    want(is_bytes(f[1]) and len(f[1]) <= SEALED_BYTES_MAX, "certificate: package is not bytes within the limit")
    want(is_bytes(f[2]) and len(f[2]) <= PROOF_BYTES_MAX, "certificate: proof is not bytes within the limit")
    want(is_text(f[3]) and tlen(f[3]) <= NOTE_BYTES_MAX, "certificate: checkpoint is not text within the limit")
    want(is_bytes(f[4]) and len(f[4]) <= PROOF_BYTES_MAX, "certificate: receipt is not bytes within the limit")
    want(type(f[5]) is list and len(f[5]) <= DISPOSITION_PACKAGES_MAX
         and all(is_bytes(x) and len(x) <= PROOF_BYTES_MAX for x in f[5]), "certificate: invalid disposed proofs")
    return f


def disposition_kind_problem(p):
    h = p.header
    if h.kind != KIND_DISPOSITION:
        return "the package is a %s package, not a disposition" % KIND_NAMES[h.kind]
    if len(h.objects) != 1:
        return "a disposition package holds exactly one object, this one %d" % len(h.objects)
    name, mtype, _s, _d = h.objects[0]
    if name != DISPOSITION_OBJECT_NAME or mtype != DISPOSITION_MEDIA_TYPE:
        return "its object is %s (%s), not %s (%s)" % (name, mtype, DISPOSITION_OBJECT_NAME, DISPOSITION_MEDIA_TYPE)
    if p.objects[0] is None:
        return "its record is withheld"
    return None


def verify_certificate(run, raw, key):
    try:
        try:
            f = decode_certificate(raw)
        except Refused as e:
            run.fail("certificate.decode", "decode-error", str(e), stop=True)
        run.ok("certificate.decode", "certificate of destruction, %d bytes, %d disposed proof(s)" % (len(raw), len(f[5])))
        p, cp = check_package_set(run, f[1], key, note=f[3], proof_raw=f[2], receipt_raw=f[4], stop_after=True)
        bad = disposition_kind_problem(p)
        if bad:
            run.fail("certificate.kind", "bad-disposition", bad, stop=True)
        run.ok("certificate.kind", "a disposition package with its record")
        try:
            d = decode_disposition(p.objects[0])
        except Refused as e:
            run.fail("disposition.decode", "decode-error", str(e), stop=True)
        run.ok("disposition.decode", "%s, decided at %d ms, basis %s, %d package(s)" % (
            ("retention", "erasure")[d.cause], d.decided_ms, json.dumps(d.basis, ensure_ascii=False), len(d.packages)))
        a = d.authorized_by
        if d.cause == 1:
            if len(a) != 2 or a[0] == a[1]:
                run.fail("disposition.authorization", "bad-disposition", "an erasure needs two distinct keys", stop=True)
            run.ok("disposition.authorization", "erasure requested by %s, approved by %s" % (a[0], a[1]))
        else:
            if len(a) < 1:
                run.fail("disposition.authorization", "bad-disposition", "no authorizer", stop=True)
            run.ok("disposition.authorization", "retention, authorized by %s" % ", ".join(a))
        own = p.header.seq
        if len(f[5]) != len(d.packages):
            run.fail("disposition.packages", "bad-disposition", "%d proof(s) for %d disposed package(s)" % (
                len(f[5]), len(d.packages)), stop=True)
        above = [s for s, _ in d.packages if s >= own]
        if above:
            run.fail("disposition.packages", "bad-disposition", "disposed seq %d not below the record's own seq %d" % (
                above[0], own), stop=True)
        run.ok("disposition.packages", "%d disposed package(s), each with a proof, all below seq %d" % (len(d.packages), own))
        for (seq, leaf), praw in zip(d.packages, f[5]):
            name = "disposed.%d" % seq
            try:
                idx, size, path = decode_proof(praw, 1)
            except Refused as e:
                run.fail(name, "decode-error", str(e))
                continue
            if idx != seq or size != cp.size:
                run.fail(name, "bad-proof", "proof for leaf %d in the tree of %d, expected leaf %d in the tree of %d" % (
                    idx, size, seq, cp.size))
            elif not verify_inclusion(leaf, idx, size, path, cp.root):
                run.fail(name, "bad-proof", "the path does not lead from leaf %s to the checkpoint's root" % hx(leaf))
            else:
                run.ok(name, "leaf %s is still leaf %d of the tree of %d" % (hx(leaf), seq, size))
    except Stop:
        pass
    return run.finish()


# ----------------------------------------------------------------------------- bundle (bundle.md)


class Bundle:
    pass


def decode_bundle(raw):
    """bundle.md §3.1."""
    want(len(raw) <= BUNDLE_BYTES_MAX, "bundle: larger than BUNDLE_BYTES_MAX")
    f = cmap_fields(cbor_decode(raw), 13, "bundle")
    want(type(f[0]) is int and f[0] == 1, "bundle: unknown version")
    want(valid_identifier(f[1]) and valid_identifier(f[2]), "bundle: tenant or archive is not an identifier")
    want(is_uint(f[3]), "bundle: seq is not a uint")
    want(f[4] is None or (is_bytes(f[4]) and len(f[4]) <= SEALED_BYTES_MAX), "bundle: package is not bytes within the limit or null")
    want(is_bytes(f[5]) and len(f[5]) <= PROOF_BYTES_MAX, "bundle: receipt is not bytes within the limit")
    want(is_bytes(f[6]) and len(f[6]) <= PROOF_BYTES_MAX, "bundle: proof is not bytes within the limit")
    want(type(f[7]) is list and 1 <= len(f[7]) <= BUNDLE_CHECKPOINTS_MAX
         and all(is_text(x) and tlen(x) <= NOTE_BYTES_MAX for x in f[7]), "bundle: checkpoints are not 1-16 notes within the limit")
    want(type(f[8]) is list and all(is_bytes(x) and len(x) <= PROOF_BYTES_MAX for x in f[8]), "bundle: invalid consistency proofs")
    want(len(f[8]) == len(f[7]), "bundle: %d consistency proof(s) for %d checkpoint(s)" % (len(f[8]), len(f[7])))
    want(type(f[9]) is list and 1 <= len(f[9]) <= BUNDLE_KEYS_MAX, "bundle: keys are not 1-16 entries")
    keys = []
    seen = set()
    for e in f[9]:
        k = cmap_fields(e, 5, "bundle key entry")
        want(is_text(k[0]) and 1 <= tlen(k[0]) <= NOTE_NAME_BYTES_MAX, "bundle: key name not 1-256 bytes")
        want(is_bytes(k[1], 4), "bundle: key id is not 4 bytes")
        want(is_text(k[2]), "bundle: key text is not text")
        key = parse_verifier_key(k[2], strip=False)  # canonical: no white space around it
        want(key.name == k[0] and key.key_id == k[1], "bundle: key entry's name or key id is not its key text's")
        want(k[3] is None or is_uint(k[3]), "bundle: valid from is not a uint or null")
        want(k[4] is None or is_uint(k[4]), "bundle: valid until is not a uint or null")
        want(k[3] is None or k[4] is None or k[3] < k[4], "bundle: valid from not before valid until")
        want((key.name, key.key_id) not in seen, "bundle: key listed twice")
        seen.add((key.name, key.key_id))
        keys.append((key, k[3], k[4]))
    ag = f[10]
    if ag is not None:
        a = cmap_fields(ag, 2, "bundle agreement")
        want(is_bytes(a[0]) and len(a[0]) <= SEALED_BYTES_MAX, "bundle: agreement package not bytes within the limit")
        want(is_bytes(a[1]) and len(a[1]) <= PROOF_BYTES_MAX, "bundle: agreement proof not bytes within the limit")
        ag = a
    want(type(f[11]) is list and len(f[11]) <= BUNDLE_DISPOSITIONS_MAX, "bundle: dispositions are not 0-16 entries")
    disps = []
    for e in f[11]:
        d = cmap_fields(e, 3, "bundle disposition")
        want(is_bytes(d[0]) and len(d[0]) <= SEALED_BYTES_MAX, "bundle: disposition package not bytes within the limit")
        want(is_bytes(d[1]) and len(d[1]) <= PROOF_BYTES_MAX, "bundle: disposition proof not bytes within the limit")
        want(is_bytes(d[2]) and len(d[2]) <= PROOF_BYTES_MAX, "bundle: disposition receipt not bytes within the limit")
        disps.append(d)
    want(is_text(f[12]) and tlen(f[12]) <= BUNDLE_REPORT_BYTES_MAX, "bundle: report is not text within the limit")
    b = Bundle()
    b.raw = raw
    b.tenant, b.archive, b.seq, b.package, b.receipt, b.proof = f[1], f[2], f[3], f[4], f[5], f[6]
    b.checkpoints, b.consistency, b.keys, b.agreement, b.dispositions, b.report = f[7], f[8], keys, ag, disps, f[12]
    return b


def fmt_time(ms):
    """YYYY-MM-DDTHH:MM:SS.mmmZ, UTC, proleptic Gregorian (bundle.md §5)."""
    days, rem = divmod(ms, 86400000)
    # civil_from_days (days since 1970-01-01)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    h, rem = divmod(rem, 3600000)
    mi, rem = divmod(rem, 60000)
    s, msec = divmod(rem, 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, m, d, h, mi, s, msec)


def key_valid_at(lo, hi, t):
    return (lo is None or lo <= t) and (hi is None or t < hi)


def key_in_list(b, key):
    for k, lo, hi in b.keys:
        if k.name == key.name and k.key_id == key.key_id and k.public == key.public:
            return (k, lo, hi)
    return None


def agreement_stated_version(p):
    """bundle.md §3.5: the version of a JSON agreement document, or None when not stated."""
    if not p.header.objects or p.header.objects[0][1] != "application/json" or p.objects[0] is None:
        return None

    def no_constant(_c):
        raise ValueError("not JSON")
    class Signed(int):  # "-0" and the like: written with a sign, so not a stated version
        pass
    try:
        doc = json.loads(p.objects[0].decode("utf-8"), parse_constant=no_constant,
                         parse_int=lambda t: Signed(t) if t.startswith("-") else int(t))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if type(doc) is not dict or not _json_readable(doc):
        return None
    v = doc.get("version")  # json.loads keeps the last of repeated names
    if type(v) is int and 0 <= v < 2 ** 64:
        return v
    return None


def _json_readable(doc):
    """bundle.md §3.5: arrays and objects nest at most 127 deep (the outer object is 1), and no
    string holds a lone surrogate (json.loads keeps an unpaired \\uD800-\\uDFFF escape as such a
    code point; UTF-8 input cannot hold one otherwise)."""
    todo = [(doc, 1)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, str):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
                return False
        elif isinstance(v, (dict, list)):
            if depth > 127:
                return False
            items = list(v.items()) if isinstance(v, dict) else [(None, x) for x in v]
            for k, x in items:
                if k is not None:
                    todo.append((k, depth))
                todo.append((x, depth + 1))
    return True


def sub_checks(sealed, proof_raw, receipt_raw, key, cp, origin_of):
    """The checks of vectors/README.md §3.1 for an agreement or disposition of a bundle, under
    the (already verified) bundle checkpoint. Returns (package, receipt, None) or raises
    _SubFail(category, reason)."""
    try:
        p = open_package(sealed)
    except Refused as e:
        raise _SubFail("decode-error", "package.decode: " + str(e), opened=False)
    h = p.header
    for i in range(len(h.objects)):
        verdict, reason = fixity(p, i)
        if verdict == "fail":
            raise _SubFail("bad-digest", "object.%d: %s" % (i, reason), p)
    origin = origin_of(h)
    if cp.origin != origin:
        raise _SubFail("bad-origin", "checkpoint.origin: the checkpoint's origin %s is not %s" % (cp.origin, origin), p)
    try:
        idx, size, path = decode_proof(proof_raw, 1)
    except Refused as e:
        raise _SubFail("decode-error", "proof.decode: " + str(e), p)
    if idx != h.seq or size != cp.size or not verify_inclusion(h.leaf, idx, size, path, cp.root):
        raise _SubFail("bad-proof", "proof.inclusion: leaf %d is not proven in the tree of %d" % (h.seq, cp.size), p)
    r = None
    if receipt_raw is not None:
        sub = Run(quiet=True)
        try:
            r = check_receipt(sub, receipt_raw, key, origin, h.seq, h)
        except Stop:
            _v, n, c, reason = sub.results[-1]
            raise _SubFail(c, "%s: %s" % (n, reason), p)
    return p, r


class _SubFail(Exception):
    def __init__(self, cat, reason, p=None, opened=True):
        Exception.__init__(self, reason)
        self.cat, self.reason, self.p, self.opened = cat, reason, p, opened


def verify_bundle(run, raw, key=None, fingerprint=None):
    b = None
    try:
        try:
            b = decode_bundle(raw)
        except Refused as e:
            run.fail("bundle.decode", "decode-error", str(e), stop=True)
        run.ok("bundle.decode", "bundle of %s/%s seq %d: package %s, %d checkpoint(s), %d key(s), %s, %d disposition(s); %d bytes" % (
            b.tenant, b.archive, b.seq, "present" if b.package is not None else "absent", len(b.checkpoints), len(b.keys),
            "an agreement" if b.agreement is not None else "no agreement", len(b.dispositions), len(raw)))
        if fingerprint is not None:
            found = [k for k, _lo, _hi in b.keys if k.fingerprint == fingerprint]
            if not found:
                run.fail("bundle.key", "bad-key", "no key of the bundle has the fingerprint %s" % hx(fingerprint), stop=True)
            key = found[0]
            run.ok("bundle.key", "the fingerprint %s is the key %s of the bundle's list" % (hx(fingerprint), key.label()))
        origin = "%s/%s/%s" % (key.name, b.tenant, b.archive)

        # --- the package
        p = None
        if b.package is not None:
            try:
                p = open_package(b.package)
            except Refused as e:
                run.fail("package.decode", "decode-error", str(e), stop=True)
            h = p.header
            run.ok("package.decode", "%s package %s/%s seq %d (%d objects, header %d bytes)" % (
                KIND_NAMES[h.kind], h.tenant, h.archive, h.seq, len(h.objects), len(h.raw)))
            if (h.tenant, h.archive, h.seq) != (b.tenant, b.archive, b.seq):
                run.fail("bundle.package", "bad-bundle", "the package is %s/%s seq %d, the bundle's entry %s/%s seq %d" % (
                    h.tenant, h.archive, h.seq, b.tenant, b.archive, b.seq), stop=True)
            run.ok("bundle.package", "the package is the bundle's entry")
            for i in range(len(h.objects)):
                verdict, reason = fixity(p, i)
                if verdict == "ok":
                    run.ok("object.%d" % i, reason)
                elif verdict == "withheld":
                    run.skip("bundle.redacted.%d" % i, reason)
                else:
                    run.fail("object.%d" % i, "bad-digest", reason)
            run.ok("package.leaf-hash", hx(h.leaf))
        else:
            run.skip("package.decode", "the package is absent")
            if not b.dispositions:
                run.fail("bundle.package", "bad-bundle", "the package is absent and no disposition explains why", stop=True)
            run.skip("bundle.package", "the package is absent; %d disposition(s) must explain why" % len(b.dispositions))
        header = p.header if p is not None else None

        # --- the receipt
        r = check_receipt(run, b.receipt, key, origin, b.seq, header)
        leaf = header.leaf if header is not None else r.leaf
        if header is None:
            run.ok("package.leaf-hash", "%s (from the receipt)" % hx(leaf))

        # --- the key
        entry = key_in_list(b, key)
        if entry is None:
            run.fail("bundle.key", "bad-key", "%s is not one of the archive's %d key(s)" % (key.label(), len(b.keys)), stop=True)
        _k, lo, hi = entry
        if not key_valid_at(lo, hi, r.time):
            run.fail("bundle.key", "bad-key", "%s is listed valid from %s until %s, not at %s when the receipt was signed" % (
                key.label(), fmt_time(lo) if lo is not None else "the beginning", fmt_time(hi) if hi is not None else "no end",
                fmt_time(r.time)), stop=True)
        run.ok("bundle.key", "%s (fingerprint %s) is one of the archive's %d key(s), valid at %s when the receipt was signed" % (
            key.label(), hx(key.fingerprint), len(b.keys), fmt_time(r.time)))

        # --- checkpoints and the consistency chain
        cps = []
        for i, note in enumerate(b.checkpoints):
            cps.append(check_checkpoint(run, "checkpoint.%d" % i, note, key, origin))
        for i, praw in enumerate(b.consistency):
            name = "bundle.consistency.%d" % i
            old_size, old_root, old_what = (r.size, r.root, "the receipt's tree") if i == 0 else (
                cps[i - 1].size, cps[i - 1].root, "checkpoint %d" % (i - 1))
            new = cps[i]
            try:
                m, n, path = decode_proof(praw, 2)
            except Refused as e:
                run.fail(name, "decode-error", str(e))
                continue
            if m != old_size or n != new.size:
                run.fail(name, "bad-proof", "proof from %d to %d, expected from %d (%s) to %d (checkpoint %d)" % (
                    m, n, old_size, old_what, new.size, i))
            elif not verify_consistency(m, old_root, n, new.root, path):
                run.fail(name, "bad-proof", "the proof from %d to %d does not verify between the roots" % (m, n))
            else:
                run.ok(name, "%s (size %d) is a prefix of checkpoint %d (size %d)" % (old_what, m, i, n))
        cp = cps[-1]

        # --- the entry's inclusion
        try:
            idx, size, path = decode_proof(b.proof, 1)
            if idx != b.seq or size != cp.size:
                run.fail("proof.inclusion", "bad-proof", "proof for leaf %d in the tree of %d, expected leaf %d in the tree of %d" % (
                    idx, size, b.seq, cp.size))
            elif not verify_inclusion(leaf, idx, size, path, cp.root):
                run.fail("proof.inclusion", "bad-proof", "the path does not lead from leaf %s to the checkpoint's root" % hx(leaf))
            else:
                run.ok("proof.inclusion", "leaf %d is in the tree of %d with root %s" % (idx, size, hx(cp.root)))
        except Refused as e:
            run.fail("proof.decode", "decode-error", str(e))

        # --- the agreement (bundle.md §3.5)
        named = header.agreement if header is not None else None
        if named is None and b.agreement is None:
            run.skip("bundle.agreement", "the header names no agreement" if header is not None else "the package is absent")
        elif named is None:
            run.fail("bundle.agreement", "bad-bundle", "an agreement is given, but %s" % (
                "the header names none" if header is not None else "the package is absent"))
        elif b.agreement is None:
            run.fail("bundle.agreement", "bad-bundle", "the header names agreement version %d at entry %d, the bundle holds none" % tuple(named))
        else:
            try:
                ap, _ = sub_checks(b.agreement[0], b.agreement[1], None, key, cp,
                                   lambda ah: "%s/%s/%s" % (key.name, ah.tenant, ah.archive))
                ah = ap.header
                problems = []
                if ah.kind != KIND_AGREEMENT:
                    problems.append("entry %d is a %s package, not an agreement" % (ah.seq, KIND_NAMES[ah.kind]))
                if ah.seq != named[1]:
                    problems.append("the agreement given is entry %d, the header names entry %d" % (ah.seq, named[1]))
                if any(o is None for o in ap.objects):
                    problems.append("an object of the agreement is withheld")
                stated = agreement_stated_version(ap)
                if stated is not None and stated != named[0]:
                    problems.append("the agreement document states version %d, the header names %d" % (stated, named[0]))
                if problems:
                    run.fail("bundle.agreement", "bad-bundle", "; ".join(problems))
                else:
                    run.ok("bundle.agreement", "agreement version %d is entry %d of the log (leaf %s), proven under the checkpoint%s" % (
                        named[0], ah.seq, hx(ah.leaf), "" if stated is not None else "; its document states no version, the seq binds it"))
            except _SubFail as e:
                run.fail("bundle.agreement", e.cat, e.reason)

        # --- dispositions (bundle.md §3.6)
        content_present = p is not None and any(o is not None for o in p.objects)
        for i, (dsealed, dproof, dreceipt) in enumerate(b.dispositions):
            try:
                dp, dr = sub_checks(dsealed, dproof, dreceipt, key, cp,
                                    lambda dh: "%s/%s/%s" % (key.name, dh.tenant, dh.archive))
            except _SubFail as e:
                name = "bundle.disposition.%d" % e.p.header.seq if e.p is not None else "bundle.disposition"
                run.fail(name, e.cat, e.reason)
                continue
            name = "bundle.disposition.%d" % dp.header.seq
            bad = disposition_kind_problem(dp)
            if bad:
                run.fail(name, "bad-disposition", bad)
                continue
            try:
                d = decode_disposition(dp.objects[0])
            except Refused as e:
                run.fail(name, "decode-error", str(e))
                continue
            above = [s for s, _ in d.packages if s >= dp.header.seq]
            named_leaf = dict(d.packages).get(b.seq)
            if above:
                run.fail(name, "bad-disposition", "the record names seq %d, not below its own seq %d" % (above[0], dp.header.seq))
            elif named_leaf is None:
                run.fail(name, "bad-disposition", "the record does not name the bundle's entry %d (it names %s)" % (
                    b.seq, ", ".join(str(s) for s, _ in d.packages)))
            elif named_leaf != leaf:
                run.fail(name, "bad-disposition", "the record names entry %d with leaf %s, the entry's leaf is %s" % (
                    b.seq, hx(named_leaf), hx(leaf)))
            elif content_present:
                run.fail(name, "bad-disposition", "the bundle still carries content of entry %d, which this record disposes of" % b.seq)
            else:
                ent = key_in_list(b, key)
                if not key_valid_at(ent[1], ent[2], dr.time):
                    run.fail(name, "bad-key", "%s was not valid at %s when the disposition's receipt was signed" % (
                        key.label(), fmt_time(dr.time)))
                else:
                    run.ok(name, "%s of entry %d (leaf %s) recorded at entry %d, signed at %s" % (
                        ("retention end", "erasure")[d.cause], b.seq, hx(leaf), dp.header.seq, fmt_time(dr.time)))

        # --- the report (bundle.md §5)
        check_report(run, b)
    except Stop:
        pass
    return run.finish()


# The report (bundle.md §5 and bundle-report.md): rendered here from the bundle's other fields by
# the normative template, and compared byte for byte with the stored one.

UNREADABLE = "(cannot be read)"
REPORT_AGREEMENT_BYTES_MAX = 65536
REPORT_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
                "color:#111;line-height:1.4}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;"
                "border-bottom:1px solid #999}table{border-collapse:collapse;margin:0.5em 0}"
                "th,td{border:1px solid #bbb;padding:0.2em 0.5em;text-align:left;vertical-align:top}"
                "code,pre{font-family:monospace;word-break:break-all;white-space:pre-wrap}"
                ".note{background:#f3f3f3;padding:0.5em 1em;border-left:4px solid #666}")
REPORT_CHECKS = [
    ("bundle.decode", "the file is a well-formed bundle (formats/bundle.md)"),
    ("package.decode", "the sealed package opens and its header is valid"),
    ("bundle.package", "the package is the bundle's entry, or its absence is explained by a disposition"),
    ("object.N", "each object present has the size and SHA-256 its header states"),
    ("bundle.redacted.N", "an object not in the bundle: only its digest is attested (not a failure)"),
    ("package.leaf-hash", "the leaf hash: SHA-256 of 0x00 and the exact header bytes"),
    ("receipt.*", "the receipt is signed by the trusted key and names this entry and leaf"),
    ("bundle.key", "the trusted key is one of the archive's keys, valid when the receipt was signed"),
    ("checkpoint.N.*", "each checkpoint is signed by the trusted key and names this archive"),
    ("bundle.consistency.N", "the log only grew: the receipt's tree is a prefix of each checkpoint's"),
    ("proof.inclusion", "the entry is in the tree of the bundle's checkpoint"),
    ("bundle.agreement", "the agreement the header names is that entry of the same log"),
    ("bundle.disposition.N", "each disposition is an entry of the same log and names this entry"),
    ("bundle.report", "this report is exactly what the bundle's contents give"),
]


def esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def code(s):
    return "<code>" + esc(s) + "</code>"


def row(out, label, value):
    out.append("<tr><th>%s</th><td>%s</td></tr>\n" % (esc(label), value))


def attempt(fn, *args):
    """The part decoded, or None when it does not decode (the report reads without verifying)."""
    try:
        return fn(*args)
    except (Refused, ValueError):
        return None


def read_checkpoint(note):
    text, sigs = parse_note(note)
    origin, size, root = parse_checkpoint_body(text)
    return origin, size, root, ["%s+%s" % (n, hx(kid)) for n, kid, _s in sigs]


def disposition_record(p):
    if p.header.kind != KIND_DISPOSITION or len(p.objects) != 1 or p.objects[0] is None:
        return None
    return attempt(decode_disposition, p.objects[0])


def render_report(b):
    """bundle-report.md: the report of bundle version 1, from every field but the report."""
    out = []
    package = attempt(open_package, b.package) if b.package is not None else None
    receipt = attempt(decode_receipt, b.receipt)
    t = esc("%s/%s, entry %d" % (b.tenant, b.archive, b.seq))
    out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
               "<meta name=\"generator\" content=\"zegel bundle report, bundle version 1\">\n"
               "<title>Zegel proof bundle: %s</title>\n<style>%s</style>\n</head>\n<body>\n"
               "<h1>Proof bundle: %s</h1>\n" % (t, REPORT_STYLE, t))
    out.append("<p class=\"note\">This report summarises the proof bundle it is stored in. It was "
               "generated from the bundle's contents by a fixed procedure (formats/bundle.md §5) and "
               "proves nothing by itself: the proof is the verification described at the end, with the "
               "archive's public key obtained from the archive through another channel. The verifier "
               "also regenerates this report and fails the bundle if it differs, so the report cannot "
               "say anything the bundle's contents do not.</p>\n")
    # What this evidence is
    out.append("<h2>What this evidence is</h2>\n<p>")
    place = "entry %d of the archive %s of the tenant %s" % (b.seq, b.archive, b.tenant)
    if b.package is None:
        sentence = ("The package at %s is not in this bundle: the bundle holds the record(s) of its "
                    "disposition, and the proof that its leaf is still in the log." % place)
    elif package is None:
        sentence = "The package at %s; it %s." % (place, UNREADABLE)
    else:
        h = package.header
        rk = "" if h.record_key is None else " with record key %s" % h.record_key
        withheld = sum(1 for o in package.objects if o is None)
        n = len(package.objects)
        sentence = "A %s package%s, %s, integrated at %s. The bundle holds its header and %d of its %d object(s)%s." % (
            KIND_NAMES[h.kind], rk, place, fmt_time(h.time), n - withheld, n,
            "; the others are not included, only their digests are attested" if withheld else "")
    out.append(esc(sentence))
    if receipt is not None:
        out.append(" " + esc("The archive signed its receipt at %s." % fmt_time(receipt.time)))
    out.append("</p>\n")
    # The package
    out.append("<h2>The package</h2>\n")
    if b.package is None:
        leaf = UNREADABLE if receipt is None else hx(receipt.leaf)
        out.append("<p>Not included. Its leaf hash, as the receipt states it: %s</p>\n" % code(leaf))
    elif package is None:
        out.append("<p>The sealed package %s.</p>\n" % UNREADABLE)
    else:
        h = package.header
        out.append("<table>\n")
        row(out, "Tenant", esc(h.tenant))
        row(out, "Archive", esc(h.archive))
        row(out, "Sequence number (entry)", str(h.seq))
        row(out, "Kind", KIND_NAMES[h.kind])
        row(out, "Record key", "none" if h.record_key is None else esc(h.record_key))
        row(out, "Integrated at (UTC)", fmt_time(h.time))
        row(out, "Retained until (UTC)", "kept without end" if h.retain_until is None else fmt_time(h.retain_until))
        row(out, "Agreement", "none" if h.agreement is None
            else "version %d, sealed at entry %d" % (h.agreement[0], h.agreement[1]))
        row(out, "Previous leaf hash", "none (first entry)" if h.prev is None else code(hx(h.prev)))
        row(out, "Leaf hash: SHA-256(0x00 \u2016 header)", code(hx(h.leaf)))
        row(out, "Header size", "%d bytes" % len(h.raw))
        out.append("</table>\n<h3>Objects</h3>\n<table>\n")
        out.append("<tr><th>#</th><th>Name</th><th>Media type</th><th>Size (bytes)</th><th>SHA-256</th>"
                   "<th>In this bundle</th></tr>\n")
        for i, ((name, mtype, size, digest), body) in enumerate(zip(h.objects, package.objects)):
            present = ("included" if body is not None
                       else "not included (withheld)" if not b.dispositions else "not included (disposed)")
            out.append("<tr><td>%d</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>\n" % (
                i, esc(name), esc(mtype), size, code(hx(digest)), present))
        out.append("</table>\n<h3>Metadata</h3>\n")
        if not h.metadata:
            out.append("<p>none</p>\n")
        else:
            out.append("<table>\n")
            for name, v in sorted(h.metadata, key=lambda kv: kv[0].encode("utf-8")):
                if type(v) is bool:
                    s = "true" if v else "false"
                elif type(v) is int:
                    s = str(v)
                else:
                    s = esc(v)
                row(out, name, s)
            out.append("</table>\n")
    # Receipt
    out.append("<h2>Receipt (signed timestamp)</h2>\n")
    if receipt is None:
        out.append("<p>The receipt %s.</p>\n" % UNREADABLE)
    else:
        out.append("<table>\n")
        row(out, "Signed by", code("%s+%s" % (receipt.key_name, hx(receipt.key_id))))
        row(out, "Signed at (UTC)", fmt_time(receipt.time))
        row(out, "Log", esc(receipt.origin))
        row(out, "Tree size", str(receipt.size))
        row(out, "Root hash", code(hx(receipt.root)))
        row(out, "Entry", str(receipt.seq))
        row(out, "Leaf hash", code(hx(receipt.leaf)))
        out.append("</table>\n")
    # Checkpoints
    out.append("<h2>Checkpoints (signed tree heads)</h2>\n<table>\n")
    out.append("<tr><th>#</th><th>Log</th><th>Tree size</th><th>Root hash</th><th>Signed by</th></tr>\n")
    last = len(b.checkpoints) - 1
    sizes = [None if receipt is None else receipt.size]
    for i, note in enumerate(b.checkpoints):
        mark = " (the bundle's checkpoint)" if i == last else ""
        cp = attempt(read_checkpoint, note)
        if cp is None:
            sizes.append(None)
            out.append("<tr><td>%d%s</td><td colspan=\"4\">%s</td></tr>\n" % (i, mark, UNREADABLE))
        else:
            origin, size, root, signers = cp
            sizes.append(size)
            out.append("<tr><td>%d%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>\n" % (
                i, mark, esc(origin), size, code(hx(root)), " ".join(code(s) for s in signers)))
    out.append("</table>\n<p>Consistency proofs, each showing that the log only grew:</p>\n<ul>\n")

    def size_of(k):
        return "?" if k >= len(sizes) or sizes[k] is None else str(sizes[k])
    for i, raw in enumerate(b.consistency):
        frm = "the receipt's tree" if i == 0 else "checkpoint %d" % (i - 1)
        p = attempt(decode_proof, raw, 2)
        if p is None:
            line = "%d: from %s to checkpoint %d: %s" % (i, frm, i, UNREADABLE)
        else:
            line = "%d: from %s (size %s) to checkpoint %d (size %s), %d hash(es)" % (
                i, frm, size_of(i), i, size_of(i + 1), len(p[2]))
        out.append("<li>%s</li>\n" % esc(line))
    p = attempt(decode_proof, b.proof, 1)
    inclusion = ("Inclusion proof: %s." % UNREADABLE if p is None
                 else "Inclusion proof: entry %d in the tree of %d, %d hash(es)." % (p[0], p[1], len(p[2])))
    out.append("</ul>\n<p>%s</p>\n" % esc(inclusion))
    # The submission agreement
    out.append("<h2>The submission agreement</h2>\n")
    if b.agreement is None:
        out.append("<p>None in this bundle: the package names no agreement, or is not included.</p>\n")
    else:
        ap = attempt(open_package, b.agreement[0])
        if ap is None:
            out.append("<p>The agreement package %s.</p>\n" % UNREADABLE)
        else:
            h = ap.header
            out.append("<table>\n")
            row(out, "Entry", str(h.seq))
            row(out, "Kind", KIND_NAMES[h.kind])
            row(out, "Integrated at (UTC)", fmt_time(h.time))
            row(out, "Leaf hash", code(hx(h.leaf)))
            out.append("</table>\n")
            for i, ((name, mtype, size, digest), body) in enumerate(zip(h.objects, ap.objects)):
                text = None
                if i == 0 and body is not None and len(body) <= REPORT_AGREEMENT_BYTES_MAX:
                    try:
                        text = body.decode("utf-8")
                    except UnicodeDecodeError:
                        text = None
                out.append("<h3>%s (%s, %d bytes, SHA-256 %s)</h3>\n" % (esc(name), esc(mtype), size, code(hx(digest))))
                if text is not None:
                    out.append("<pre>%s</pre>\n" % esc(text))
                else:
                    out.append("<p>Not shown here (not the agreement document, absent, not UTF-8 text, "
                               "or larger than 64 KiB).</p>\n")
    # Dispositions
    out.append("<h2>Dispositions</h2>\n")
    if not b.dispositions:
        out.append("<p>None: the bundle holds no record that the package was disposed of.</p>\n")
    for i, d in enumerate(b.dispositions):
        dp = attempt(open_package, d[0])
        rec = None if dp is None else disposition_record(dp)
        if rec is None:
            out.append("<p>Disposition %d: %s.</p>\n" % (i, UNREADABLE))
            continue
        out.append("<h3>Disposition at entry %d</h3>\n<table>\n" % dp.header.seq)
        row(out, "Cause", ("retention", "erasure")[rec.cause])
        row(out, "Basis", esc(rec.basis))
        row(out, "Authorized by", " ".join(code(a) for a in rec.authorized_by))
        row(out, "Decided at (UTC)", fmt_time(rec.decided_ms))
        names = [leaf for s, leaf in rec.packages if s == b.seq]
        this = "no" if not names else "yes, with leaf hash %s" % code(hx(names[0]))
        row(out, "Packages disposed", "%d; this entry among them: %s" % (len(rec.packages), this))
        dr = attempt(decode_receipt, d[2])
        row(out, "Receipt signed at (UTC)", UNREADABLE if dr is None else fmt_time(dr.time))
        out.append("</table>\n")
    # Keys
    out.append("<h2>The archive's public keys</h2>\n<table>\n")
    out.append("<tr><th>Name</th><th>Key id</th><th>Fingerprint (SHA-256)</th><th>Valid from (UTC)</th>"
               "<th>Valid until (UTC)</th><th>Verifier key</th></tr>\n")
    for k, lo, hi in b.keys:
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n" % (
            esc(k.name), code(hx(k.key_id)), code(hx(k.fingerprint)),
            "the beginning" if lo is None else fmt_time(lo), "no end" if hi is None else fmt_time(hi),
            code(k.text)))
    out.append("</table>\n<p>Compare the fingerprint with the one the archive publishes elsewhere before "
               "trusting a key.</p>\n")
    # How to verify
    out.append("<h2>How to verify</h2>\n<p>Offline, with nothing but this bundle, the archive's public key "
               "and <code>zegel-verify</code> built from the Zegel sources, or a verifier written from the "
               "specifications in <code>formats/</code>:</p>\n<pre>zegel-verify bundle --key KEY %s</pre>\n"
               "<p>KEY is the archive's verifier key text (or a file holding it), or the 64-digit "
               "fingerprint of that key, obtained from the archive independently of this bundle: never "
               "copied from this report, which anyone who forged the bundle could have written. The "
               "verifier prints one line per check, with its verdict and reason, and exits with 0 when "
               "every check passed, 1 when one failed and 2 when it could not run. The checks, in "
               "order:</p>\n<table>\n" % esc("%s-%s-%d.zbundle" % (b.tenant, b.archive, b.seq)))
    for name, what in REPORT_CHECKS:
        out.append("<tr><td>%s</td><td>%s</td></tr>\n" % (code(name), esc(what)))
    out.append("</table>\n</body>\n</html>\n")
    return "".join(out)


def check_report(run, b):
    want_report = render_report(b)
    if b.report == want_report:
        run.ok("bundle.report", "the stored report (%d bytes) is exactly the one the bundle's contents give"
               % len(b.report.encode("utf-8")))
        return
    i = next((k for k, (x, y) in enumerate(zip(b.report, want_report)) if x != y), min(len(b.report), len(want_report)))
    run.fail("bundle.report", "bad-report", "the stored report differs from the one the bundle's contents give, "
             "from character %d: %s" % (i, json.dumps(b.report[max(0, i - 20):i + 40])))


# ----------------------------------------------------------------------------- cold segments (cold-segment.md, cold-layout.md)

SEGMENT_MAGIC = b"ZGLSEG\x00\x01"
SEGMENT_TRAILER_BYTES = 48
SEGMENT_PACKAGES_MAX = 10000
SEGMENT_BYTES_MAX = 1 << 30
SEGMENT_BLOCK_RAW_BYTES_MAX = 83886080
SEGMENT_INDEX_BYTES_MAX = 16 << 20
SEGMENT_KEY_RE = re.compile(r"(v1|v2)/([^/]+)/([^/]+)/segments/(never|[0-9]+-[0-9]{2})/([0-9]{20})-([0-9]{20})"
                            r"(?:\+([0-9]{20}))?\.zseg")


def retention_month(ms):
    """cold-layout.md §3: the UTC month of retain-until, or never."""
    return "never" if ms is None else fmt_time(ms)[:-17]


def parse_segment_key(key):
    """cold-layout.md §2: (version, tenant, archive, month, first, end, rewrite or None)."""
    m = SEGMENT_KEY_RE.fullmatch(key)
    want(m is not None, "segment key: not <v>/<tenant>/<archive>/segments/<month>/<first>-<end>[+<rewrite>].zseg")
    version, tenant, archive, month, first, end, rewrite = m.groups()
    want(valid_identifier(tenant) and valid_identifier(archive), "segment key: tenant or archive is not an identifier")
    if month != "never":
        year, mm = month.split("-")
        want(year[0] != "0" and int(year) >= 1970 and 1 <= int(mm) <= 12, "segment key: not a month")
        last = retention_month(2 ** 64 - 1).split("-")
        want((int(year), int(mm)) <= (int(last[0]), int(last[1])), "segment key: a month after the last time")
    first, end = int(first), int(end)
    want(first < 2 ** 64 and end < 2 ** 64 and first < end, "segment key: not a range of seqs")
    if rewrite is not None:
        want(version == "v2", "segment key: a rewrite number under v1/")
        rewrite = int(rewrite)
        want(1 <= rewrite < 2 ** 64, "segment key: rewrite number 0")
    return version, tenant, archive, month, first, end, rewrite


def open_segment(data):
    """cold-segment.md §3, §4, §4.1 (the checks of segment.decode): the index."""
    want(len(data) <= SEGMENT_BYTES_MAX, "segment: larger than SEGMENT_BYTES_MAX")
    want(len(data) >= len(SEGMENT_MAGIC) + SEGMENT_TRAILER_BYTES, "segment: shorter than magic and trailer")
    body, trailer = data[:-SEGMENT_TRAILER_BYTES], data[-SEGMENT_TRAILER_BYTES:]
    want(data[:8] == SEGMENT_MAGIC and trailer[40:] == SEGMENT_MAGIC, "segment: bad magic")
    want(sha256(body) == trailer[8:40], "segment: trailer hash does not match its bytes")
    index_len = int.from_bytes(trailer[:8], "big")
    want(index_len <= SEGMENT_INDEX_BYTES_MAX and index_len <= len(body) - 8, "segment: index length out of range")
    start = len(body) - index_len
    v = cbor_decode(zstd_decompress(body[start:], SEGMENT_INDEX_BYTES_MAX))
    want(type(v) is list and len(v) == 5, "segment index: not an array of five")
    want(type(v[0]) is int and v[0] == 1, "segment index: unknown version")
    want(valid_identifier(v[1]) and valid_identifier(v[2]), "segment index: tenant or archive is not an identifier")
    want(type(v[3]) is list and len(v[3]) <= SEGMENT_PACKAGES_MAX, "segment index: blocks")
    want(type(v[4]) is list and len(v[4]) <= SEGMENT_PACKAGES_MAX, "segment index: packages")
    for blk in v[3]:
        want(type(blk) is list and len(blk) == 3 and all(is_uint(x) for x in blk), "segment index: block entry")
    for p in v[4]:
        want(type(p) is list and len(p) == 5 and all(is_uint(x) for x in p[:4])
             and (p[4] is None or (is_text(p[4]) and tlen(p[4]) <= RECORD_KEY_BYTES_MAX)), "segment index: package entry")
    blocks, packages = v[3], v[4]
    want(all(a[0] < b[0] for a, b in zip(packages, packages[1:])), "segment index: seqs not ascending and unique")
    at = 8
    for off, length, raw in blocks:
        want(off == at, "segment index: blocks are not back to back")
        want(1 <= raw <= SEGMENT_BLOCK_RAW_BYTES_MAX, "segment index: a block's raw length is not 1 to the limit")
        at += length
    want(at == start, "segment index: the blocks do not end where the index starts")
    want(all(p[3] >= 1 for p in packages), "segment index: a package of length 0")
    nb, noff = 0, 0
    for seq, blk, off, length, _rk in packages:
        if blk != nb:
            done = blocks[nb][2] if nb < len(blocks) else None
            want(done == noff and blk == nb + 1 and off == 0, "segment index: packages do not tile the blocks")
            nb, noff = blk, 0
        want(off == noff, "segment index: packages do not tile the blocks")
        noff = off + length
    want((nb >= len(blocks) or blocks[nb][2] == noff) and (not packages) == (not blocks),
         "segment index: packages do not tile the blocks")
    want((packages[-1][1] + 1 if packages else 0) == len(blocks), "segment index: a block holds no package")
    return v


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
    refuse("cbor: integer too large")


def cbor_encode(v):
    """The deterministic encoding of a value decoded by cbor_decode (maps keep their order)."""
    if v is None:
        return b"\xf6"
    if v is True or v is False:
        return b"\xf5" if v else b"\xf4"
    if type(v) is int:
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if type(v) is bytes:
        return cbor_head(2, len(v)) + v
    if type(v) is str:
        raw = v.encode("utf-8")
        return cbor_head(3, len(raw)) + raw
    if isinstance(v, CMap):
        return cbor_head(5, len(v)) + b"".join(cbor_encode(k) + cbor_encode(x) for k, x in v)
    return cbor_head(4, len(v)) + b"".join(cbor_encode(x) for x in v)


def restore_package(package_cbor, seq, record_key, prev):
    """cold-segment.md §2, §4.1: the restored header bytes and the objects."""
    v = cbor_decode(package_cbor)
    want(type(v) is list and len(v) == 3 and v[0] == 1 and is_bytes(v[1]) and type(v[2]) is list,
         "segment package: not a package")
    reduced = decode_header(v[1])
    want(reduced.seq == seq, "segment: the index says seq %d but the header says %d" % (seq, reduced.seq))
    want(reduced.record_key == record_key, "segment: the index's record key is not the header's")
    want(all(is_bytes(o) for o in v[2]), "segment: a withheld object")
    want(len(v[2]) == len(reduced.objects), "segment package: object count differs from its header")
    fields = cbor_decode(v[1])
    restored = CMap()
    for k, x in fields:
        if k == 5 and seq > 0:
            x = prev
        elif k == 11:
            x = [[o[0], o[1], o[2], sha256(body)] for o, body in zip(x, v[2])]
        restored.append((k, x))
    return cbor_encode(restored), v[2]


def verify_segment(run, key, data, leaves, headers):
    """vectors/README.md §3.4."""
    try:
        try:
            version, tenant, archive, month, first, end, rewrite = parse_segment_key(key)
        except Refused as e:
            run.fail("segment.key", "decode-error", str(e), stop=True)
        run.ok("segment.key", "%s %s/%s, retained until %s, move [%d, %d)" % (version, tenant, archive, month, first, end))
        try:
            index = open_segment(data)
        except Refused as e:
            run.fail("segment.decode", "decode-error", str(e), stop=True)
        _v, itenant, iarchive, blocks, packages = index
        run.ok("segment.decode", "%d packages in %d block(s), trailer hash matches" % (len(packages), len(blocks)))
        if (itenant, iarchive) != (tenant, archive):
            run.fail("segment.placement", "decode-error", "the index names another archive", stop=True)
        if any(not first <= p[0] < end for p in packages):
            run.fail("segment.placement", "decode-error", "seqs outside the move", stop=True)
        if rewrite is not None and not packages:
            run.fail("segment.placement", "decode-error", "a rewritten segment holds no package", stop=True)
        run.ok("segment.placement", "every seq in [%d, %d)" % (first, end))
        inflated = {}
        for i, (seq, blk, off, length, record_key) in enumerate(packages):
            name = "segment.%d" % seq
            if seq >= len(leaves) or (seq > 0 and seq - 1 >= len(leaves)):
                run.skip(name, "no trusted leaf for this seq or the one before")
                continue
            if blk not in inflated:
                b_off, b_len, b_raw = blocks[blk]
                try:
                    raw = zstd_decompress(data[b_off:b_off + b_len], b_raw)
                    want(len(raw) == b_raw, "segment: block inflates to another length than its index says")
                    inflated[blk] = raw
                except Refused as e:
                    inflated[blk] = e
            raw = inflated[blk]
            if isinstance(raw, Refused):
                run.fail(name, "decode-error", "block %d: %s" % (blk, raw))
                continue
            try:
                header_bytes, _objects = restore_package(raw[off:off + length], seq, record_key,
                                                         leaves[seq - 1] if seq > 0 else None)
                h = decode_header(header_bytes)
            except Refused as e:
                run.fail(name, "decode-error", str(e))
                continue
            if h.leaf != leaves[seq]:
                run.fail(name, "bad-digest", "the restored header does not hash to the trusted leaf")
            elif i >= len(headers) or headers[i] != header_bytes:
                run.fail(name, "bad-digest", "the restored header differs from the expected bytes")
            elif (h.tenant, h.archive) != (tenant, archive) or retention_month(h.retain_until) != month:
                run.fail(name, "decode-error", "a package of another archive or retention month")
            else:
                run.ok(name, "restored to leaf %s" % hx(h.leaf))
    except Stop:
        pass
    return run.finish()


# ----------------------------------------------------------------------------- tiles (cold-layout.md §2, §5, §7)

CHECKPOINT_KEY_RE = re.compile(r"(v1|v2)/([^/]+)/([^/]+)/checkpoints/([0-9]{20})\.note")
TILE_KEY_RE = re.compile(r"(v1|v2)/([^/]+)/([^/]+)/tile/([0-7])/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


def tile_index_text(n):
    s = str(n)
    s = "0" * (-len(s) % 3) + s
    groups = [s[i:i + 3] for i in range(0, len(s), 3)]
    return "".join("x%s/" % g for g in groups[:-1]) + groups[-1]


def tiles_of(n):
    """cold-layout.md §5: (level, index, width) of every tile of the tree of n leaves."""
    out, level = [], 0
    while n // 256 ** level:
        e = n // 256 ** level
        out += [(level, i, 256) for i in range(e // 256)]
        if e % 256:
            out.append((level, e // 256, e % 256))
        level += 1
    return out


def tile_key(version, tenant, archive, level, index, width):
    return "%s/%s/%s/tile/%d/%s%s" % (version, tenant, archive, level, tile_index_text(index),
                                        "" if width == 256 else ".p/%d" % width)


def parse_tile_key(key):
    m = TILE_KEY_RE.fullmatch(key)
    if m is None:
        return None
    version, tenant, archive, level, index, width = m.groups()
    digits = index.replace("x", "").replace("/", "")
    if tile_index_text(int(digits)) != index or (width is not None and int(width) > 255):
        return None
    return version, tenant, archive


def verify_tiles(run, checkpoint_key, note, tiles, key):
    """vectors/README.md §3.5, cold-layout.md §7 steps 1-4."""
    try:
        m = CHECKPOINT_KEY_RE.fullmatch(checkpoint_key)
        if m is None or not valid_identifier(m.group(2)) or not valid_identifier(m.group(3)) \
                or int(m.group(4)) >= 2 ** 64:
            run.fail("checkpoint.key", "decode-error", "not a checkpoint key of layout v1 or v2", stop=True)
        version, tenant, archive, counter = m.group(1), m.group(2), m.group(3), int(m.group(4))
        run.ok("checkpoint.key", "%s %s/%s, size %d" % (version, tenant, archive, counter))
        cp = check_checkpoint(run, "checkpoint", note, key, "%s/%s/%s" % (key.name, tenant, archive))
        n = cp.size
        if n != counter:
            run.fail("checkpoint.size", "decode-error", "size %d, the key says %d" % (n, counter), stop=True)
        run.ok("checkpoint.size", "%d" % n)
        for name in tiles:
            parsed = parse_tile_key(name)
            if parsed is None or parsed[1:] != (tenant, archive):
                run.fail("tiles.keys", "decode-error", "%s is not a tile key of %s/%s" % (name, tenant, archive), stop=True)
        needed = tiles_of(n)
        missing = [t for t in needed if tile_key(version, tenant, archive, *t) not in tiles]
        if missing:
            run.fail("tiles.keys", "decode-error", "%d needed tile(s) missing under %s/" % (len(missing), version), stop=True)
        run.ok("tiles.keys", "all %d tile(s) of size %d present" % (len(needed), n))
        entries = {}
        for level, index, width in needed:
            data = tiles[tile_key(version, tenant, archive, level, index, width)]
            if len(data) != 32 * width:
                run.fail("tiles.decode", "decode-error", "tile %d/%d is %d bytes, not %d" % (level, index, len(data), 32 * width), stop=True)
            entries[(level, index)] = [data[i:i + 32] for i in range(0, len(data), 32)]
        run.ok("tiles.decode", "%d tile(s)" % len(needed))

        def entry(level, i):
            return entries[(level, i // 256)][i % 256]

        def fold(hashes):
            while len(hashes) > 1:
                hashes = [node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
            return hashes[0]
        if n == 0:
            root = sha256(b"")
        else:
            peaks, start = [], 0
            for b in range(63, -1, -1):
                if n >> b & 1:
                    level, r = divmod(b, 8)
                    first = start // 256 ** level
                    peaks.append(fold([entry(level, first + j) for j in range(2 ** r)]))
                    start += 2 ** b
            root = peaks[-1]
            for p in reversed(peaks[:-1]):
                root = node(p, root)
        if root != cp.root:
            run.fail("tiles.root", "bad-proof", "the tiles give another root than the checkpoint's", stop=True)
        run.ok("tiles.root", "the tiles give the checkpoint's root")
        bad = [(level, index) for level, index, width in needed if width == 256
               and fold(entries[(level, index)]) != entry(level + 1, index)]
        if bad:
            run.fail("tiles.parents", "bad-proof", "full tile(s) %s do not hash to their entry one level up" % bad)
        else:
            run.ok("tiles.parents", "every full tile hashes to its entry one level up")
    except Stop:
        pass
    return run.finish()


# ----------------------------------------------------------------------------- CLI


class Usage(Exception):
    pass


def load_key(arg, allow_fingerprint):
    """Returns (Key or None, fingerprint bytes or None)."""
    s = arg.strip()
    if HEX64_RE.match(s):
        if not allow_fingerprint:
            raise Usage("a fingerprint is only accepted for bundles (their key list holds the key)")
        return None, bytes.fromhex(s)
    if re.fullmatch(r"[0-9a-fA-F]{8}", s):
        raise Usage("a key id is not accepted in place of a fingerprint (bundle.md §3.3)")
    text = arg
    if os.path.isfile(arg):
        with open(arg, "rb") as f:
            text = f.read().decode("utf-8")
        if HEX64_RE.match(text.strip()):
            if not allow_fingerprint:
                raise Usage("a fingerprint is only accepted for bundles")
            return None, bytes.fromhex(text.strip())
    try:
        return parse_verifier_key(text), None
    except Refused as e:
        raise Usage("--key: %s" % e)


def run_vector(path, out):
    with open(path, "rb") as f:
        v = json.loads(f.read().decode("utf-8"))
    members = {"format", "scenario", "description", "check", "expect", "failed_check", "inputs"}
    if type(v) is not dict or set(v) != members:
        raise Usage("%s: not a vector file (members %s)" % (path, sorted(v) if type(v) is dict else "?"))
    if v["format"] != "zegel-vector/v1":
        raise Usage("%s: unknown vector format %r" % (path, v["format"]))
    inp = v["inputs"]
    try:
        key = parse_verifier_key(inp["public_key"])
    except Refused as e:
        raise Usage("%s: public_key: %s" % (path, e))
    run = Run(out=out)
    print("== %s (%s): expect %s at %s" % (v["scenario"], v["check"], v["expect"], v["failed_check"] or "none"), file=out)
    if v["check"] == "bundle":
        cat, name = verify_bundle(run, base64.b64decode(inp["bundle"], validate=True), key=key)
    elif v["check"] == "certificate":
        cat, name = verify_certificate(run, base64.b64decode(inp["certificate"], validate=True), key)
    elif v["check"] == "package":
        cat, name = verify_package(run, base64.b64decode(inp["package"], validate=True), key, inp.get("checkpoint"),
                                   base64.b64decode(inp["proof"], validate=True) if "proof" in inp else None,
                                   base64.b64decode(inp["receipt"], validate=True) if "receipt" in inp else None)
    elif v["check"] == "chain":
        cat, name = verify_chain(run, [base64.b64decode(x, validate=True) for x in inp["packages"]])
    elif v["check"] == "segment":
        cat, name = verify_segment(run, inp["segment_key"], base64.b64decode(inp["segment"], validate=True),
                                   [base64.b64decode(x, validate=True) for x in inp["leaves"]],
                                   [base64.b64decode(x, validate=True) for x in inp["headers"]])
    elif v["check"] == "tiles":
        cat, name = verify_tiles(run, inp["checkpoint_key"], inp["checkpoint"],
                                 {k: base64.b64decode(x, validate=True) for k, x in inp["tiles"].items()}, key)
    elif v["check"] == "consistency":
        cat, name = verify_consistency_pair(run, inp["old_checkpoint"], inp["new_checkpoint"],
                                           base64.b64decode(inp["proof"], validate=True), key)
    else:
        raise Usage("%s: check %r is not implemented by this verifier (bundle, certificate, package, chain, "
                    "consistency)" % (path, v["check"]))
    good = cat == v["expect"] and name == v["failed_check"]
    print("%s %s: got %s at %s" % ("REPRODUCED" if good else "NOT REPRODUCED", v["scenario"], cat, name or "none"), file=out)
    return good


def verify_chain(run, packages):
    """vectors/README.md §3.2: package by package, decode then link; the first failure stops."""
    prev = None
    try:
        for i, sealed in enumerate(packages):
            try:
                p = open_package(sealed)
            except Refused as e:
                run.fail("package.%d.decode" % i, "decode-error", str(e), stop=True)
            h = p.header
            if prev is not None:
                name = "chain.%d" % h.seq
                if (h.tenant, h.archive) != (prev.tenant, prev.archive):
                    run.fail(name, "bad-link", "%s/%s follows %s/%s" % (h.tenant, h.archive, prev.tenant, prev.archive), stop=True)
                if h.seq != prev.seq + 1:
                    run.fail(name, "bad-link", "seq %d follows seq %d" % (h.seq, prev.seq), stop=True)
                if h.prev != prev.leaf:
                    run.fail(name, "bad-link", "prev is not the leaf hash of seq %d" % prev.seq, stop=True)
                if h.time < prev.time:
                    run.fail(name, "bad-link", "time goes back", stop=True)
                run.ok(name, "links to seq %d" % prev.seq)
            prev = h
    except Stop:
        pass
    return run.finish()


def verify_consistency_pair(run, old_note, new_note, proof_raw, key):
    """vectors/README.md §3.3: two checkpoints of one log and the proof between them."""
    cps = []
    for name, note in (("old-checkpoint", old_note), ("new-checkpoint", new_note)):
        try:
            text, sigs = parse_note(note)
            origin, size, root = parse_checkpoint_body(text)
        except (Refused, UnicodeDecodeError) as e:
            run.fail(name + ".decode", "decode-error", str(e))
            cps.append(None)
            continue
        bad = verify_note(text, sigs, key)
        if bad:
            run.fail(name + ".signature", "bad-signature", bad)
            cps.append(None)
            continue
        run.ok(name + ".signature", "%s at size %d" % (origin, size))
        cps.append((origin, size, root))
    try:
        if None in cps:
            raise Stop()
        (o1, m, r1), (o2, n, r2) = cps
        if o1 != o2:
            run.fail("checkpoint.origin", "bad-origin", "%s and %s are different logs" % (o1, o2), stop=True)
        try:
            pm, pn, path = decode_proof(proof_raw, 2)
        except Refused as e:
            run.fail("proof.decode", "decode-error", str(e), stop=True)
        if (pm, pn) != (m, n):
            run.fail("proof.consistency", "bad-proof", "proof from %d to %d, checkpoints at %d and %d" % (pm, pn, m, n), stop=True)
        if not verify_consistency(m, r1, n, r2, path):
            run.fail("proof.consistency", "bad-proof", "the proof does not verify", stop=True)
        run.ok("proof.consistency", "the tree of %d is a prefix of the tree of %d" % (m, n))
    except Stop:
        pass
    return run.finish()


def verify_package(run, sealed, key, note, proof_raw, receipt_raw):
    try:
        check_package_set(run, sealed, key, note=note, proof_raw=proof_raw, receipt_raw=receipt_raw)
    except Stop:
        pass
    return run.finish()


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Usage("cannot read %s: %s" % (path, e.strerror))


def main(argv):
    args = list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cmd = args.pop(0)
    try:
        if cmd == "vector":
            if not args:
                raise Usage("vector: give one or more vector files")
            results = [(p, run_vector(p, sys.stdout)) for p in args]
            bad = [p for p, ok in results if not ok]
            if len(results) > 1:
                print("%d of %d vector(s) reproduced%s" % (len(results) - len(bad), len(results),
                      "" if not bad else "; not reproduced: " + ", ".join(os.path.basename(p) for p in bad)))
            return 1 if bad else 0
        if cmd == "flips":
            # flips --key KEY FILE BIT...: verifies the bundle FILE with each given bit flipped
            # (bit i is bit i % 8, least significant first, of byte i // 8); one line per bit:
            # "<bit> <category> <first failed check>", or "<bit> ok none".
            if len(args) < 3 or args[0] != "--key":
                raise Usage("flips --key KEY FILE BIT...")
            key, _ = load_key(args[1], allow_fingerprint=False)
            data = read_file(args[2])
            for a in args[3:]:
                bit = int(a)
                if not 0 <= bit < 8 * len(data):
                    raise Usage("bit %d is outside the file" % bit)
                flipped = bytearray(data)
                flipped[bit // 8] ^= 1 << (bit % 8)
                cat, name = verify_bundle(Run(quiet=True), bytes(flipped), key=key)
                print("%d %s %s" % (bit, cat, name or "none"))
            return 0
        if cmd not in ("bundle", "certificate", "package"):
            raise Usage("unknown command %r" % cmd)
        opts, pos = {}, []
        while args:
            a = args.pop(0)
            if a in ("--key", "--checkpoint", "--proof", "--receipt"):
                if not args:
                    raise Usage("%s needs a value" % a)
                opts[a] = args.pop(0)
            elif a.startswith("--key="):
                opts["--key"] = a[6:]
            elif a.startswith("-") and a != "-":
                raise Usage("unknown option %s" % a)
            else:
                pos.append(a)
        if "--key" not in opts or len(pos) != 1:
            raise Usage("%s --key KEY FILE" % cmd)
        if cmd != "package" and set(opts) - {"--key"}:
            raise Usage("%s takes only --key" % cmd)
        key, fp = load_key(opts["--key"], allow_fingerprint=(cmd == "bundle"))
        data = read_file(pos[0]) if pos[0] != "-" else sys.stdin.buffer.read()
        run = Run()
        if cmd == "bundle":
            cat, _ = verify_bundle(run, data, key=key, fingerprint=fp)
        elif cmd == "certificate":
            cat, _ = verify_certificate(run, data, key)
        else:
            note = read_file(opts["--checkpoint"]).decode("utf-8") if "--checkpoint" in opts else None
            proof = read_file(opts["--proof"]) if "--proof" in opts else None
            receipt = read_file(opts["--receipt"]) if "--receipt" in opts else None
            cat, _ = verify_package(run, data, key, note, proof, receipt)
        return 0 if cat == "ok" else 1
    except Usage as e:
        print("usage error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    sys.exit(code)
