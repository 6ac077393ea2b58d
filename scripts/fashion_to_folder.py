#!/usr/bin/env python3
"""Writes Fashion-MNIST (the IDX files of Debian's dataset-fashion-mnist) out as a folder of
PNG images, DIR/train/<class>/<n>.png and DIR/test/<class>/<n>.png, the layout
`footprint train --data folder:DIR` reads. Class directories are named "<label>_<name>" so that
sorting them keeps Fashion-MNIST's label order.

    scripts/fashion_to_folder.py OUT_DIR [--limit N] [--source DIR]

--limit N writes only the first N training images (the test set is always whole), for
measuring how memory grows with the size of a data set. Plain Python (gzip, zlib), no
third-party modules.
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle-boot"]


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return count, rows, cols, data[16:]
    if magic == 2049:
        return count, 0, 0, data[8:]
    sys.exit(f"{path}: not an IDX image or label file (magic {magic})")


def png(width, height, grey):
    """A greyscale 8-bit PNG: signature, IHDR, one IDAT (filter 0 on every row), IEND."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + grey[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def find(source, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(source, name)):
            return os.path.join(source, name)
    sys.exit(f"{source}: no {stem}[.gz] (install dataset-fashion-mnist or pass --source)")


def write_split(source, out, split, stem, limit):
    count, rows, cols, pixels = read_idx(find(source, f"{stem}-images-idx3-ubyte"))
    label_count, _, _, labels = read_idx(find(source, f"{stem}-labels-idx1-ubyte"))
    if label_count != count:
        sys.exit(f"{source}: {count} {stem} images but {label_count} labels")
    n = count if limit is None else min(limit, count)
    dirs = [os.path.join(out, split, f"{k}_{name}") for k, name in enumerate(CLASSES)]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    size = rows * cols
    for i in range(n):
        path = os.path.join(dirs[labels[i]], f"{i:05d}.png")
        with open(path + ".tmp", "wb") as f:
            f.write(png(cols, rows, pixels[i * size:(i + 1) * size]))
        os.replace(path + ".tmp", path)
        if (i + 1) % 10000 == 0 or i + 1 == n:
            print(f"{split}: {i + 1}/{n}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the folder to write (created if missing)")
    parser.add_argument("--limit", type=int, help="write only the first N training images")
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist",
                        help="where the IDX files are (default: Debian's dataset-fashion-mnist)")
    args = parser.parse_args()
    write_split(args.source, args.out, "train", "train", args.limit)
    write_split(args.source, args.out, "test", "t10k", None)


if __name__ == "__main__":
    main()
