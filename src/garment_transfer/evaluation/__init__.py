"""One evaluator for generated person images: the protocols of ``docs/evaluation.md`` with MSE, PSNR, SSIM, LPIPS,
FID, KID and IS under one documented pre-processing (``preprocessing.py``), in memory (:class:`Evaluator`, used by the
pipeline's ``test``) or over a folder of results (:func:`evaluate_folder`, ``garment-transfer evaluate``)."""

from garment_transfer.evaluation.evaluator import Evaluator
from garment_transfer.evaluation.folder import PROTOCOLS, evaluate_folder, read_pairs_file
from garment_transfer.evaluation.inception import InceptionV3Features
from garment_transfer.evaluation.lpips import LPIPS
from garment_transfer.evaluation.preprocessing import PREPROCESSING, from_uint8, to_uint8
from garment_transfer.evaluation.results import METRICS, EvaluationResult, format_table, write_results

__all__ = [
    "Evaluator",
    "EvaluationResult",
    "InceptionV3Features",
    "LPIPS",
    "METRICS",
    "PREPROCESSING",
    "PROTOCOLS",
    "evaluate_folder",
    "format_table",
    "from_uint8",
    "read_pairs_file",
    "to_uint8",
    "write_results",
]
