"""Ingest: bring one day's drop (tiles in any CRS, format and band layout) onto the base grid.

Each tile is seen through a rasterio WarpedVRT on the base grid and read in row blocks, so
memory follows the base grid, never the size of the drop. Tiles are mosaicked first-valid-wins;
nodata, internal masks and alpha bands are honoured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from detect.errors import DetectError
from detect.geotiff import percentile_stretch
from detect.grid import Grid

RASTER_SUFFIXES = {".tif", ".tiff", ".jp2", ".j2k", ".jpg", ".jpeg", ".png", ".vrt"}
BLOCK_ROWS = 512
NO_VALID_PIXELS = "the drop holds no valid pixels over the base (all nodata)"


class IngestError(DetectError):
    """A drop that cannot be brought onto the base grid."""


@dataclass
class Scene:
    """A day on the base grid: RGB (3, rows, cols) float32 in 0..255, and where it is valid."""

    rgb: np.ndarray
    valid: np.ndarray
    grid: Grid
    sources: list[dict]
    acquired: dt.datetime | None = None

    @property
    def gray(self) -> np.ndarray:
        return self.rgb.mean(axis=0)


def drop_files(drop: Path) -> list[Path]:
    """The raster files of a drop (a folder of tiles, or a single file)."""
    if drop.is_file():
        return [drop]
    if not drop.is_dir():
        raise IngestError(f"drop not found: {drop}")
    files = sorted(p for p in drop.iterdir() if p.suffix.lower() in RASTER_SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        kinds = ", ".join(sorted(RASTER_SUFFIXES))
        raise IngestError(f"drop {drop} holds no raster files ({kinds}): is it empty?")
    return files


def is_remote(path: Path | str) -> bool:
    """Whether a source is a URL (http, https, s3) rather than a local file."""
    return "://" in str(path)


def file_hash(path: Path | str) -> str:
    """The SHA-256 of a file's bytes; of a remote href (a URL), the SHA-256 of the href itself,
    since its bytes are read in windows and never fetched whole."""
    if is_remote(path):
        return hashlib.sha256(str(path).encode()).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _name(path: Path | str) -> str:
    """How a source is recorded: a file by its name, a remote href in full."""
    return str(path) if is_remote(path) else Path(path).name


def acquisition_time(ds) -> dt.datetime | None:
    """The acquisition time from the TIFF tags, when present."""
    tags = ds.tags()
    for key, fmt in (("ACQUISITION_DATETIME", None), ("TIFFTAG_DATETIME", "%Y:%m:%d %H:%M:%S")):
        if key in tags:
            try:
                value = tags[key].rstrip("Z")
                return dt.datetime.strptime(value, fmt) if fmt else dt.datetime.fromisoformat(
                    value)
            except ValueError:
                continue
    return None


def _bands(ds) -> list[int]:
    """Which bands make RGB: the colour-interpreted ones if present, else the first three, or
    the single band three times."""
    interp = ds.colorinterp
    rgb = [interp.index(c) + 1 for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
           if c in interp]
    if len(rgb) == 3:
        return rgb
    data = [i + 1 for i, c in enumerate(interp) if c != ColorInterp.alpha]
    return data[:3] if len(data) >= 3 else [data[0]] * 3


def _overlaps(ds, grid: Grid) -> bool:
    if ds.crs is None:
        raise IngestError(f"{ds.name} has no CRS: georeference it before ingesting")
    left, bottom, right, top = transform_bounds(ds.crs, grid.crs, *ds.bounds)
    gl, gb, gr, gt = grid.bounds
    return left < gr and right > gl and bottom < gt and top > gb


def _open(path: Path):
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise IngestError(f"cannot read {path}: not a readable raster ({exc})") from exc


@dataclass
class Drop:
    """A drop's files as they bear on a base grid: their sources, its acquisition time and
    how each file's values are stretched; `scene` reads any part of the grid from them."""

    files: list[Path | str]  # those that overlap the base grid
    sources: list[dict]  # every file's name and SHA-256
    acquired: dt.datetime | None
    stretch: list[tuple[float, float] | None]

    def scene(self, grid: Grid) -> Scene:
        """The files mosaicked onto `grid` (a part of the base grid; it may hold no valid
        pixel)."""
        rgb = np.zeros((3, *grid.shape), np.float32)
        valid = np.zeros(grid.shape, bool)
        for path, stretch in zip(self.files, self.stretch, strict=True):
            with _open(path) as ds:
                if not _overlaps(ds, grid):
                    continue
                try:
                    _read_into(ds, grid, rgb, valid, stretch)
                except rasterio.errors.RasterioError as exc:
                    raise IngestError(f"cannot read {path}: truncated or damaged ({exc}); "
                                      "deliver it again") from exc
        return Scene(rgb, valid, grid, self.sources, self.acquired)


def open_drop(files: list[Path | str], grid: Grid) -> Drop:
    """The drop's files that overlap `grid`, each hashed once. Raises IngestError when none
    overlaps."""
    used, sources, stretches, acquired = [], [], [], None
    for path in files:
        with _open(path) as ds:
            sources.append({"file": _name(path), "sha256": file_hash(path)})
            if not _overlaps(ds, grid):
                continue
            used.append(path)
            stretches.append(percentile_stretch(ds, _bands(ds)[:1]))
            acquired = acquired or acquisition_time(ds)
    if not used:
        raise IngestError("the drop does not overlap the base (check its location and CRS)")
    return Drop(used, sources, acquired, stretches)


def ingest(files: list[Path | str], grid: Grid) -> Scene:
    """Mosaic the files onto `grid`. Raises IngestError when nothing overlaps the base."""
    scene = open_drop(files, grid).scene(grid)
    if not scene.valid.any():
        raise IngestError(NO_VALID_PIXELS)
    return scene


def _read_into(ds, grid: Grid, rgb: np.ndarray, valid: np.ndarray,
               scale: tuple[float, float] | None) -> None:
    bands = _bands(ds)
    has_mask = ds.nodata is not None or any(
        f & rasterio.enums.MaskFlags.per_dataset for f in ds.mask_flag_enums[0]) or \
        ColorInterp.alpha in ds.colorinterp
    with WarpedVRT(ds, crs=grid.crs, transform=grid.transform, width=grid.width,
                   height=grid.height, resampling=Resampling.bilinear,
                   add_alpha=not has_mask) as vrt:
        for r0 in range(0, grid.height, BLOCK_ROWS):
            win = Window(0, r0, grid.width, min(BLOCK_ROWS, grid.height - r0))
            mask = vrt.read_masks(bands[0], window=win) > 0
            sl = np.s_[r0:r0 + win.height]
            new = mask & ~valid[sl]
            if not new.any():
                continue
            data = vrt.read(bands, window=win).astype(np.float32)
            if scale is not None:
                data = np.clip((data - scale[0]) / scale[1] * 255, 0, 255)
            block = rgb[:, sl]
            block[:, new] = data[:, new]
            valid[sl] |= new


def reference_grid(path: Path) -> Grid:
    """The grid of a reference image, which must be georeferenced."""
    with _open(path) as ds:
        if ds.crs is None:
            raise IngestError(f"{path} has no CRS: the reference must be georeferenced")
        return Grid.of(ds)


def reference_scene(path: Path, grid: Grid | None = None) -> Scene:
    """A reference image as a Scene on its own grid (or on `grid`)."""
    return ingest([path], grid or reference_grid(path))
