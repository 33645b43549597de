"""Static files in production: hashed names, and gzip and Brotli copies made by collectstatic."""

from __future__ import annotations

import brotli
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


class QuickerBrotli(Compressor):
    @staticmethod
    def compress_brotli(data: bytes) -> bytes:
        # Quality 10 is within 2% of the smallest (11) and three times quicker to make; every
        # `make serve` runs collectstatic, so this is paid on each start.
        return brotli.compress(data, quality=10)


class StaticFiles(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs) -> Compressor:
        return QuickerBrotli(**kwargs)
