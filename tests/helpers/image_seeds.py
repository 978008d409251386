"""Seed images and byte mutations for fuzzing the image reader (the suite's Hypothesis test and
`bench/fuzz_images.py` share them).

Seeds are small valid files in every format deepvis reads, in the variants whose decoders differ
(progressive JPEG, CMYK, EXIF; RGBA, 16-bit and palette PNG; lossy and lossless WebP; raw,
LZW, deflate, packbits and tiled TIFF; 1/8/24-bit BMP; GIF). A mutation is a list of plain
operations (`apply`), so Hypothesis can shrink it and the bench can draw it from numpy.
Integer overwrites use values that make headers claim huge, zero or negative sizes.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import numpy as np

# Values written into header fields: sizes that overflow, vanish, or claim gigapixels.
INTERESTING = (0, 1, 2, 7, 8, 15, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 32768 * 32768,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
KINDS = ("set", "int", "truncate", "insert", "delete", "copy")


@lru_cache(maxsize=1)
def seeds() -> dict[str, bytes]:
    """name -> encoded bytes of a 24x16 test pattern in many formats and variants."""
    from PIL import Image

    yy, xx = np.mgrid[0:16, 0:24]
    rgb = np.stack([xx * 10, yy * 15, (xx + yy) * 6], axis=-1).astype(np.uint8)
    base = Image.fromarray(rgb)
    gray = base.convert("L")
    out: dict[str, bytes] = {}

    def save(name: str, image, fmt: str, **options) -> None:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        out[name] = buffer.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6
    save("jpeg", base, "JPEG", quality=90)
    save("jpeg_progressive", base, "JPEG", progressive=True)
    save("jpeg_gray", gray, "JPEG")
    save("jpeg_cmyk", base.convert("CMYK"), "JPEG")
    save("jpeg_exif6", base, "JPEG", exif=exif)
    save("png", base, "PNG")
    save("png_rgba", base.convert("RGBA"), "PNG")
    save("png_palette_transparent", base.convert("P"), "PNG", transparency=0)
    save("png_16bit", Image.fromarray((gray_array := np.asarray(gray).astype(np.uint16) * 257)), "PNG")
    save("webp_lossy", base, "WEBP", quality=80)
    save("webp_lossless", base, "WEBP", lossless=True)
    save("tiff_raw", base, "TIFF")
    save("tiff_lzw", base, "TIFF", compression="tiff_lzw")
    save("tiff_deflate", base, "TIFF", compression="tiff_adobe_deflate")
    save("tiff_packbits", gray, "TIFF", compression="packbits")
    save("tiff_16bit", Image.fromarray(gray_array), "TIFF")
    save("bmp_24", base, "BMP")
    save("bmp_8", base.convert("P"), "BMP")
    save("bmp_1", base.convert("1"), "BMP")
    save("gif", base.convert("P"), "GIF")
    try:  # tiled TIFF (Pillow writes strips only); tifffile comes with scikit-image
        import tifffile

        buffer = io.BytesIO()
        tifffile.imwrite(buffer, rgb, tile=(16, 16), compression="zlib")
        out["tiff_tiled"] = buffer.getvalue()
    except Exception:  # noqa: BLE001 - an optional seed
        pass
    return out


def apply(data: bytes, ops: list[tuple]) -> bytes:
    """Apply mutation operations in order; positions wrap around the current length."""
    buffer = bytearray(data)
    for op in ops:
        kind = op[0]
        size = max(1, len(buffer))
        if kind == "set":
            _, pos, value = op
            if buffer:
                buffer[pos % size] = value & 0xFF
        elif kind == "int":
            _, pos, width, big, value = op
            fmt = (">" if big else "<") + {1: "B", 2: "H", 4: "I"}[width]
            packed = struct.pack(fmt, value & ((1 << (8 * width)) - 1))
            start = pos % size
            buffer[start:start + width] = packed
        elif kind == "truncate":
            del buffer[op[1] % size:]
        elif kind == "insert":
            start = op[1] % size
            buffer[start:start] = op[2]
        elif kind == "delete":
            start = op[1] % size
            del buffer[start:start + op[2]]
        elif kind == "copy":
            _, src, dst, length = op
            chunk = bytes(buffer[src % size:src % size + length])
            start = dst % size
            buffer[start:start + len(chunk)] = chunk
    return bytes(buffer)


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute the CRC of every PNG chunk that still parses, so mutations reach the decoder
    instead of stopping at the checksum."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    buffer = bytearray(data)
    pos = 8
    while pos + 12 <= len(buffer):
        length = struct.unpack(">I", buffer[pos:pos + 4])[0]
        end = pos + 8 + length
        if end + 4 > len(buffer):
            break
        buffer[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(buffer[pos + 4:end])) & 0xFFFFFFFF)
        pos = end + 4
    return bytes(buffer)


def random_ops(rng: np.random.Generator, length: int, count: int) -> list[tuple]:
    """`count` random operations for data of about `length` bytes, biased towards the header."""
    ops: list[tuple] = []
    for _ in range(count):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        limit = 64 if rng.random() < 0.6 else max(1, length)
        pos = int(rng.integers(limit))
        if kind == "set":
            ops.append(("set", pos, int(rng.integers(256))))
        elif kind == "int":
            value = INTERESTING[int(rng.integers(len(INTERESTING)))] if rng.random() < 0.8 else int(rng.integers(2**32))
            ops.append(("int", pos, int(rng.choice([1, 2, 4])), bool(rng.random() < 0.5), value))
        elif kind == "truncate":
            ops.append(("truncate", int(rng.integers(max(1, length)))))
        elif kind == "insert":
            ops.append(("insert", pos, bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))))
        elif kind == "delete":
            ops.append(("delete", pos, int(rng.integers(1, 64))))
        else:
            ops.append(("copy", int(rng.integers(max(1, length))), pos, int(rng.integers(1, 128))))
    return ops
