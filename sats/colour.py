"""The one boundary to LittleCMS (through Pillow's ImageCms): colours and images converted to the
printer's CMYK, relative colorimetric with black-point compensation, as prepress tools do."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageCms, ImageMath

from .errors import SatsError

INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
# Without precalculation: LittleCMS takes 50 ms to precalculate a transform into this profile,
# more than converting a 3-megapixel image takes without it, and a build needs one per source.
FLAGS = ImageCms.Flags.BLACKPOINTCOMPENSATION | ImageCms.Flags.NOOPTIMIZE
SRGB = "sRGB"  # the colour of DeviceRGB, and of WeasyPrint's own ICC profile
LAB_D50, LAB_D65 = "Lab D50", "Lab D65"  # CIE L*a*b* (CSS lab() and lch(); oklab() in D65)
LAB = {LAB_D50: 5000, LAB_D65: 6500}  # and the colour temperature of each white point
Colour = tuple[float, ...]


class Separation:
    """Conversions from sRGB, Lab or an RGB image's own profile to one CMYK output profile."""

    def __init__(self, profile: Path) -> None:
        self._path = profile
        try:
            self._profile = ImageCms.getOpenProfile(str(profile))
        except (ImageCms.PyCMSError, OSError) as error:
            raise SatsError.at(f"LittleCMS cannot read this ICC profile: {error}", profile) from None
        self._transforms: dict[str, ImageCms.ImageCmsTransform] = {}
        self._sources: dict[str, ImageCms.ImageCmsProfile] = {}
        self._colours: dict[tuple[str, Colour], Colour] = {}

    @property
    def description(self) -> str:
        """The profile's own description."""
        return str(self._profile.profile.profile_description or "").strip()

    def source(self, icc: bytes) -> str:
        """A key for the RGB profile `icc` (an image's or a colour space's), to convert from it."""
        key = hashlib.sha256(icc).hexdigest()
        if key not in self._sources:
            self._sources[key] = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return key

    def _transform(self, source: str) -> ImageCms.ImageCmsTransform:
        if source not in self._transforms:
            mode = "LAB" if source in LAB else "RGB"
            origin = (ImageCms.createProfile("LAB", LAB[source]) if source in LAB else
                      ImageCms.createProfile("sRGB") if source == SRGB else self._sources[source])
            try:
                self._transforms[source] = ImageCms.buildTransform(origin, self._profile, mode, "CMYK",
                                                                   renderingIntent=INTENT, flags=FLAGS)
            except ImageCms.PyCMSError as error:  # a profile whose tables are damaged
                raise SatsError.at(f"LittleCMS cannot convert colours into this ICC profile: {error}",
                                   self._path) from None
        return self._transforms[source]

    def colours(self, colours: Sequence[Colour], source: str = SRGB) -> list[Colour]:
        """CMYK (0 to 1) of RGB colours (0 to 1) or of Lab colours (L 0 to 100, a and b about 0)."""
        wanted = [colour for colour in dict.fromkeys(colours) if (source, colour) not in self._colours]
        if wanted:
            image = Image.frombytes("LAB" if source in LAB else "RGB", (len(wanted), 1),
                                    b"".join(_samples(colour, source) for colour in wanted))
            converted = _apply(image, self._transform(source)).tobytes()
            for index, colour in enumerate(wanted):
                self._colours[source, colour] = tuple(round(v / 255, 4) for v in converted[4 * index:4 * index + 4])
        return [self._colours[source, colour] for colour in colours]

    def image(self, image: Image.Image, source: str = SRGB) -> Image.Image:
        """A CMYK image of an RGB (or Lab) one."""
        if image.mode != ("LAB" if source in LAB else "RGB"):
            image = image.convert("RGB")
        return _apply(image, self._transform(source))


def _apply(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    converted = ImageCms.applyTransform(image, transform)
    assert converted is not None  # None only when converting in place
    return converted


def _samples(colour: Colour, source: str) -> bytes:
    """A colour as Pillow's 8-bit samples: RGB 0 to 255; or L 0 to 255 with a and b as signed bytes."""
    if source in LAB:
        lightness, a, b = colour
        return bytes([_byte(lightness * 2.55), round(max(-128.0, min(127.0, a))) % 256,
                      round(max(-128.0, min(127.0, b))) % 256])
    return bytes(_byte(value * 255) for value in colour)


def _byte(value: float) -> int:
    return max(0, min(255, round(value)))


def coverage(image: Image.Image, mask: Image.Image | None = None) -> float:
    """The highest total area coverage of a CMYK image, in per cent: its four inks summed, where
    its soft `mask` (if any) lets it show."""
    if mask is not None and mask.size != image.size:
        mask = mask.resize(image.size, Image.Resampling.NEAREST)
    cyan, magenta, yellow, black = image.split()
    total = ImageMath.lambda_eval(lambda ink: (ink["c"] + ink["m"] + ink["y"] + ink["k"]) * (ink["a"] > 0),
                                  c=cyan, m=magenta, y=yellow, k=black, a=mask or Image.new("L", image.size, 255))
    return float(total.getextrema()[1]) * 100 / 255
