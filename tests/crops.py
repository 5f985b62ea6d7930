"""The real crops of typed aircraft (../shared/data/ru-aircraft-crops) where the tests and the
bench read them, and the look-alikes that shape must tell apart; the trials themselves are
`detect.identify.trials`."""

from __future__ import annotations

from pathlib import Path

from detect.identify import crops
from detect.identify.crops import Crop

CROPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ru-aircraft-crops"
LOOK_ALIKES = (("Il-76", "Tu-95"), ("Il-76", "C-17"), ("Su-30_or_Su-34", "Su-27_or_Su-35"),
               ("Tu-22M", "Tu-160"))  # the look-alikes that shape must tell apart at a pixel
# size off by up to 15% (#34), as the crops label them; there are no C-17 crops
RIVALS = tuple(p for pair in LOOK_ALIKES for p in (pair, pair[::-1]))  # (truth, rival), both
# ways round


def read_crops(root: Path = CROPS) -> list[Crop]:
    return crops.read_crops(root)
