#!/usr/bin/python3
"""Prints an HDF5 file's structure as h5py sees it, as JSON: every group and dataset (path, kind,
dtype, shape) and every attribute. The interop tests run it on the .weights.h5 files RnnCluster
writes, so the check of layout, dtypes and shapes is made by h5py (libhdf5), not by our reader.
Usage: h5_structure.py FILE.h5 (or an archive member: h5_structure.py ARCHIVE.keras model.weights.h5)"""
import io, json, sys, zipfile
import h5py

def attrs(obj):
    out = {}
    for k, v in obj.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        elif hasattr(v, "tolist"):
            v = [x.decode() if isinstance(x, bytes) else x for x in v.tolist()] if getattr(v, "ndim", 0) else v.tolist()
        out[k] = v
    return out

def main():
    if len(sys.argv) == 3:
        data = zipfile.ZipFile(sys.argv[1]).read(sys.argv[2])
        f = h5py.File(io.BytesIO(data), "r")
    else:
        f = h5py.File(sys.argv[1], "r")
    objects = []
    def visit(name, obj):
        entry = {"path": name, "attrs": attrs(obj)}
        if isinstance(obj, h5py.Dataset):
            entry.update(kind="dataset", dtype=obj.dtype.str, shape=list(obj.shape))
        else:
            entry.update(kind="group")
        objects.append(entry)
    f.visititems(visit)
    print(json.dumps({"attrs": attrs(f), "objects": objects}))

main()
