"""Evaluating a folder of result images under one protocol, on a fixed pair list.

Results are named ``<source>__<target>.png`` after the pair they answer (also in the re-transfer protocol, whose image
``<s>__<t>.png`` shows ``I_{s<-t<-s}``, the source person wearing their garment back), or as a pairs file's third
column says. The pair list is, in this order of precedence:

1. a pairs file: CSV or whitespace-separated text, ``source,target[,result]`` per line (a ``source,target[,result]``
   header, blank lines and ``#`` comments are skipped; ``.png`` / ``.jpg`` endings of ids are dropped);
2. the data set's fixed evaluation pairs, as the pipeline's data module takes them: the true-transfer pairs where the
   data set has them (synthetic), else the data set's own unpaired list (VITON-HD ``test_pairs.txt``, DressCode
   ``test_pairs_unpaired.txt``, ...), else a derangement of the split's ids drawn with ``eval_seed``
   (``data.datamodule.evaluation_pairs``);
3. without a data set (unpaired protocol only): every ``<source>__<target>`` image of the folder, sorted.

Every listed pair must have its result image, and every result must have the size of the first one (the evaluation
size); references come from the data set through its reader at that size (:data:`REFERENCES`): the true transfer
(``transfer``, and ``tryon``: a true transfer is also the true unpaired try-on of the target in the source's in-shop
garment), the source person (``retransfer``), the target person (``tryon_paired``: each person in their own in-shop
garment, results ``<id>__<id>.png``, on the data set's paired list or every id of the split), the target person as
the real set (``unpaired``, ``tryon_unpaired``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from garment_transfer.data.datamodule import evaluation_pairs
from garment_transfer.data.io import read_image, resize
from garment_transfer.data.readers import Reader, make_reader
from garment_transfer.evaluation.evaluator import Evaluator
from garment_transfer.evaluation.preprocessing import from_uint8
from garment_transfer.evaluation.results import METRICS, EvaluationResult
from garment_transfer.metrics.image import mse_255, psnr_255, ssim_255

PROTOCOLS = ("transfer", "retransfer", "unpaired", "tryon", "tryon_paired", "tryon_unpaired")
REFERENCES = {
    "transfer": "truth",
    "tryon": "truth",
    "retransfer": "source",
    "tryon_paired": "target",
    "unpaired": "real",
    "tryon_unpaired": "real",
}  # protocol -> what each result is compared with
SEPARATOR = "__"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_LISTED = 5


def result_name(source: str, target: str) -> str:
    return f"{source}{SEPARATOR}{target}.png"


def _id(text: str) -> str:
    return text[: -len(Path(text).suffix)] if Path(text).suffix.lower() in IMAGE_SUFFIXES else text


def read_pairs_file(path: str | Path) -> list[tuple[str, str, str]]:
    """``(source, target, result file name)`` per line of a pairs file (module docstring, item 1).

    Raises:
        FileNotFoundError: naming the file. ValueError: naming the file and line of a malformed line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pairs file not found")
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = next(csv.reader([text])) if "," in text else text.split()
        fields = [f.strip() for f in fields]
        if number == 1 and fields[:2] == ["source", "target"]:
            continue
        if len(fields) not in (2, 3) or not all(fields):
            raise ValueError(f"{path}:{number}: expected source,target[,result], got {line!r}")
        source, target = _id(fields[0]), _id(fields[1])
        pairs.append((source, target, fields[2] if len(fields) == 3 else result_name(source, target)))
    if not pairs:
        raise ValueError(f"{path}: pairs file lists no pairs")
    return pairs


def _folder_pairs(results: Path) -> list[tuple[str, str, str]]:
    pairs = []
    for path in sorted(results.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and SEPARATOR in path.stem:
            source, target = path.stem.split(SEPARATOR, 1)
            pairs.append((source, target, path.name))
    if not pairs:
        raise ValueError(f"{results}: no result images named <source>{SEPARATOR}<target>.png")
    return pairs


def _reader(format: str, root: str | Path, size: tuple[int, int] | None = None, first: Path | None = None) -> Reader:
    """The data set's reader at ``size`` (None: its default), set to read person images and true transfers only."""
    options = {"densepose": "rendering", "densepose_files": "rendering"} if format == "canonical" else {}
    if size is not None:
        options["size"] = size
    try:
        return make_reader(format, root, **options)
    except ValueError as error:
        if size is None or "size" not in str(error):
            raise
        raise ValueError(
            f"{first}: results of size {size[0]}x{size[1]} cannot be compared with {root}: its reader "
            f"does not support that size ({error})"
        ) from None


def _check_pairs(pairs: list[tuple[str, str, str]], reader: Reader, split: str, protocol: str, where: str) -> None:
    known = set(reader.ids(split))
    unknown = sorted({name for s, t, _ in pairs for name in (s, t) if name not in known})
    if unknown:
        raise ValueError(
            f"{where}: pair ids not in split {split!r} of {reader.root}: {unknown[:MAX_LISTED]}"
            + (f" and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else "")
        )
    if REFERENCES[protocol] == "truth":
        truth = set(reader.truth_pairs(split) or ())
        lacking = [(s, t) for s, t, _ in pairs if (s, t) not in truth]
        if lacking:
            raise ValueError(
                f"{where}: protocol {protocol!r} needs a true transfer for every pair; {reader.root} has "
                f"none for {len(lacking)} pairs, e.g. {lacking[:MAX_LISTED]} (see its "
                f"{split}/transfer/pairs.txt, or use --protocol retransfer / unpaired)"
            )


def _pairs(results: Path, protocol: str, reader: Reader | None, split: str, pairs_file, eval_seed: int):
    if pairs_file is not None:
        return read_pairs_file(pairs_file), str(pairs_file)
    if reader is None:
        return _folder_pairs(results), str(results)
    if protocol == "tryon_paired":
        official = reader.official_pairs(split, paired=True)
        if official is not None:
            return [(s, t, result_name(s, t)) for s, t in official.pairs], f"{official.path} (the data set's own list)"
        return [(i, i, result_name(i, i)) for i in reader.ids(split)], f"{reader.root} ({split}: every person)"
    truth = reader.truth_pairs(split)
    if REFERENCES[protocol] == "truth" and not truth:
        raise ValueError(
            f"{reader.root}: protocol {protocol!r} needs true transfers ({split}/transfer/pairs.txt), "
            "which this data set does not have; use --protocol retransfer or unpaired (transfer), "
            "tryon_paired or tryon_unpaired (try-on)"
        )
    if truth:
        return [(s, t, result_name(s, t)) for s, t in truth], f"{reader.root} ({split} true transfers)"
    official = reader.official_pairs(split, paired=False)
    if official is not None:
        return [(s, t, result_name(s, t)) for s, t in official.pairs], f"{official.path} (the data set's own list)"
    listed = evaluation_pairs(reader.ids(split), "transfer", eval_seed)
    return [(s, t, result_name(s, t)) for s, t in listed], f"{reader.root} ({split} pairs drawn with eval_seed)"


def _references(
    reader: Reader, split: str, protocol: str, chunk: list[tuple[str, str, str]], size: tuple[int, int]
) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1]: what each listed result of a protocol with a reference is compared with."""
    reference = REFERENCES[protocol]
    if reference == "truth":
        return torch.stack([reader.read_truth(split, s, t).image for s, t, _ in chunk])
    people = [s if reference == "source" else t for s, t, _ in chunk]
    return _images([resize(reader.read_raw(split, person).image, size, False) for person in people])


def _images(arrays: list[np.ndarray]) -> torch.Tensor:
    """(H, W, 3) uint8 arrays -> (B, 3, H, W) in [-1, 1]."""
    return from_uint8(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))


def _listed_results(
    results: Path, protocol: str, data, format: str, split: str, pairs, eval_seed: int
) -> tuple[list[tuple[str, str, str]], Reader | None, tuple[int, int]]:
    """The checked pair list of a results folder, the data set's reader at the results' size, and that size."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: choose one of {PROTOCOLS}")
    if REFERENCES[protocol] != "real" and data is None:
        raise ValueError(f"protocol {protocol!r} compares with references from a data set: give data (--data ROOT)")
    if not results.is_dir():
        raise FileNotFoundError(f"{results}: results folder not found")
    reader = None if data is None else _reader(format, data)
    listed, where = _pairs(results, protocol, reader, split, pairs, eval_seed)
    if reader is not None:
        _check_pairs(listed, reader, split, protocol, where)
    missing = [str(results / name) for _, _, name in listed if not (results / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(listed)} result images are missing (pairs from {where}): {missing[:MAX_LISTED]}"
        )
    first = results / listed[0][2]
    size = read_image(first, "RGB").shape[:2]  # the evaluation size
    if reader is not None and reader.size != size:
        reader = _reader(format, data, size, first)
    return listed, reader, size


def read_result(path: Path) -> np.ndarray:
    """A result image as (H, W, 3) uint8 RGB; one with transparent pixels is refused (its hidden colours would be
    scored as if they showed).

    Raises:
        ValueError: naming the file.
    """
    image = read_image(path)
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        hidden = int((image[..., -1] < 255).sum())
        if hidden:
            raise ValueError(
                f"{path}: {hidden} of {image.shape[0] * image.shape[1]} pixels are transparent (an "
                "alpha channel): results are scored as RGB; save them opaque"
            )
        image = image[..., :3] if image.shape[-1] == 4 else np.repeat(image[..., :1], 3, axis=-1)
    return read_image(path, "RGB") if image.ndim != 3 or image.shape[-1] != 3 else image


def _read_results(results: Path, chunk: list[tuple[str, str, str]], size: tuple[int, int]) -> torch.Tensor:
    predictions = []
    for _, _, name in chunk:
        image = read_result(results / name)
        if image.shape[:2] != size:
            raise ValueError(
                f"{results / name}: size {image.shape[0]}x{image.shape[1]} differs from the other "
                f"results' {size[0]}x{size[1]}"
            )
        predictions.append(image)
    return _images(predictions)


def per_pair_scores(
    results: str | Path,
    protocol: str,
    data: str | Path,
    format: str = "canonical",
    split: str = "test",
    eval_seed: int = 0,
    batch_size: int = 16,
) -> tuple[list[tuple[str, str]], dict[str, np.ndarray]]:
    """Per-pair MSE / PSNR / SSIM of a results folder under a protocol with a reference (``transfer``, ``tryon``,
    ``retransfer``, ``tryon_paired``), on the data set's fixed pairs as :func:`evaluate_folder` lists them: the
    inputs of a paired bootstrap (``evaluation.comparison``) between methods evaluated on the same pairs.

    Returns:
        ``([(source, target), ...], {"mse" | "psnr" | "ssim": (pairs,) float64})``.
    """
    if REFERENCES.get(protocol) in (None, "real"):
        raise ValueError(
            f"protocol {protocol!r}: per-pair scores need a protocol with a reference, one of "
            f"{tuple(p for p, r in REFERENCES.items() if r != 'real')}"
        )
    results = Path(results)
    listed, reader, size = _listed_results(results, protocol, data, format, split, None, eval_seed)
    scores = {"mse": [], "psnr": [], "ssim": []}
    for start in range(0, len(listed), batch_size):
        chunk = listed[start : start + batch_size]
        pred, reference = _read_results(results, chunk, size), _references(reader, split, protocol, chunk, size)
        for name, score in (("mse", mse_255), ("psnr", psnr_255), ("ssim", ssim_255)):
            scores[name].append(score(pred, reference).numpy())
    return [(s, t) for s, t, _ in listed], {name: np.concatenate(values) for name, values in scores.items()}


def evaluate_folder(
    results: str | Path,
    protocol: str = "transfer",
    data: str | Path | None = None,
    format: str = "canonical",
    split: str = "test",
    pairs: str | Path | None = None,
    inception: str | Path | None = None,
    lpips: str | Path | None = None,
    lpips_backbone: str | Path | None = None,
    metrics: Sequence[str] = METRICS,
    eval_seed: int = 0,
    batch_size: int = 16,
    device: str | torch.device | None = None,
    progress: bool = False,
    **evaluator_options,
) -> EvaluationResult:
    """Evaluate the result images in ``results`` under ``protocol`` (module docstring).

    Args:
        results: the folder of result images.
        protocol: one of :data:`PROTOCOLS`.
        data, format, split: the data set with the references (required by ``transfer`` and ``retransfer``;
            the real set of ``unpaired``, whose FID / KID are skipped without it).
        pairs: an optional pairs file; eval_seed: the seed of the data set's evaluation pairs.
        inception, lpips, lpips_backbone, metrics, evaluator_options: as :class:`Evaluator`.
        batch_size: images per network call. device: default CUDA when available. progress: a progress bar.

    Raises:
        FileNotFoundError / ValueError: naming the file or folder (missing results, wrong sizes, unknown ids, ...).
    """
    results = Path(results)
    listed, reader, size = _listed_results(results, protocol, data, format, split, pairs, eval_seed)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    evaluator = Evaluator(
        inception, lpips, lpips_backbone, metrics=metrics, reference=REFERENCES[protocol] != "real", **evaluator_options
    ).to(device)
    for start in tqdm(range(0, len(listed), batch_size), disable=not progress, unit="batch", desc="evaluate"):
        chunk = listed[start : start + batch_size]
        pred = _read_results(results, chunk, size).to(device)
        if REFERENCES[protocol] != "real":
            evaluator.update(pred, _references(reader, split, protocol, chunk, size).to(device))
        elif reader is not None:
            evaluator.update(
                pred,
                real=_images([resize(reader.read_raw(split, t).image, size, False) for _, t, _ in chunk]).to(device),
            )
        else:
            evaluator.update(pred)
    return evaluator.compute()
