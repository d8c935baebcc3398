#!/usr/bin/env python3
"""Open an RT Dose written by `radtox export --format dicom` with pydicom and check it.

Usage: check_eqd2_rtdose.py EXPORTED SOURCE EXPECTED_MAX_GY MODEL_WORDS...

Checks what a DICOM consumer relies on: the object parses, it is an RT Dose with new
SOP Instance and Series UIDs, the source's study and Frame of Reference, DoseType
EFFECTIVE, DoseUnits GY, 32-bit pixels with DoseGridScaling, a SeriesDescription and
DoseComment naming the model (every MODEL_WORD must appear in the DoseComment), a
ReferencedRTPlanSequence equal to the source's, and pixel data whose maximum × scaling
is EXPECTED_MAX_GY within one scaling step. Pure Python (no numpy). Exit 0 on success,
1 with one line per failed check otherwise.
"""
import struct
import sys

import pydicom

RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"


def main() -> int:
    exported, source, expected_max = sys.argv[1], sys.argv[2], float(sys.argv[3])
    words = sys.argv[4:]
    ds = pydicom.dcmread(exported)
    src = pydicom.dcmread(source, force=True)
    problems = []

    def check(cond, what):
        if not cond:
            problems.append(what)

    check(ds.SOPClassUID == RT_DOSE, f"SOPClassUID {ds.SOPClassUID}")
    check(ds.file_meta.MediaStorageSOPClassUID == RT_DOSE, "file meta SOP class")
    check(ds.Modality == "RTDOSE", f"Modality {ds.Modality}")
    check(ds.SOPInstanceUID != src.SOPInstanceUID, "SOP Instance UID not new")
    check(ds.SeriesInstanceUID != src.SeriesInstanceUID, "Series Instance UID not new")
    check(ds.StudyInstanceUID == src.StudyInstanceUID, "study differs from the source")
    check(ds.FrameOfReferenceUID == src.FrameOfReferenceUID, "frame of reference differs")
    check(ds.DoseType == "EFFECTIVE", f"DoseType {ds.DoseType}")
    check(ds.DoseUnits == "GY", f"DoseUnits {ds.DoseUnits}")
    check(ds.BitsAllocated == 32 and ds.BitsStored == 32, "not 32-bit pixels")
    check(float(ds.DoseGridScaling) > 0, "DoseGridScaling missing or not positive")
    desc = str(ds.get("SeriesDescription", ""))
    comment = str(ds.get("DoseComment", ""))
    check(desc != "", "SeriesDescription empty")
    # Both are LO: at most 64 characters (PS3.5 6.2).
    check(len(desc) <= 64, f"SeriesDescription longer than 64 characters: {desc!r}")
    check(len(comment) <= 64, f"DoseComment longer than 64 characters: {comment!r}")
    for w in words:
        check(w in comment, f"DoseComment {comment!r} lacks {w!r}")
    src_plan = src.get("ReferencedRTPlanSequence")
    if src_plan:
        ref = ds.get("ReferencedRTPlanSequence")
        check(bool(ref), "ReferencedRTPlanSequence missing")
        if ref:
            check(
                ref[0].ReferencedSOPInstanceUID == src_plan[0].ReferencedSOPInstanceUID,
                "referenced plan differs from the source's",
            )
    frames = int(ds.get("NumberOfFrames", 1))
    n = frames * ds.Rows * ds.Columns
    check(len(ds.GridFrameOffsetVector) == frames, "GridFrameOffsetVector length")
    endian = ">" if not ds.file_meta.TransferSyntaxUID.is_little_endian else "<"
    pixels = struct.unpack(f"{endian}{n}I", ds.PixelData[: 4 * n])
    scaling = float(ds.DoseGridScaling)
    got_max = max(pixels) * scaling
    check(
        abs(got_max - expected_max) <= scaling + 1e-6 * expected_max,
        f"max {got_max} Gy vs expected {expected_max} Gy",
    )
    for p in problems:
        print(f"check_eqd2_rtdose: {p}")
    if not problems:
        print(f"check_eqd2_rtdose: ok ({frames}x{ds.Rows}x{ds.Columns}, max {got_max:.4f} Gy)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
