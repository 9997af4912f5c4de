"""Vision for pages OCR cannot read: the page image goes to a vision-capable model.

A page whose text stays unusable after OCR (handwriting, a poor scan: `pages_to_read`) is rendered
with pypdfium2 in a limited child process (`pdf.run_limited`), scaled so its longest side is at
most `VisionConfig.max_side_px` and encoded under `max_image_bytes`, and sent through an
`ExtractionChain` of vision-capable providers with the same system prompt and output schema as a
text chunk (Anthropic: a base64 `image` block; OpenAI: an `image_url` data URL). Retries,
fallback, the response cache (keyed by the image's hash too) and usage records are the chain's:
the tokens the API reports include the image's. The image lives in memory only.

Each page is its own "chunk" (`page_chunk_id`); its facts are grounded to the page, not to text
offsets (`grounding.add_page_extractions`), and every one is a review item (`vision_extracted`).
"""

import base64
import io
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from medpipeline.extraction.prompts import DocumentType
from medpipeline.extraction.providers import ChunkResult, ExtractionChain, PageImage
from medpipeline.pdf import PageText, PdfLimits, run_limited, text_unusable

MAX_RENDER_DPI = 300
_QUALITIES = (85, 70, 55, 40)  # JPEG qualities tried before the image is made smaller
_DARK = 128  # grey level below which a pixel is ink


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"


class VisionConfig(BaseModel):
    max_side_px: int = Field(
        default=1568, gt=100, description="Longest side of the image sent (Anthropic's advice)."
    )
    max_image_bytes: int = Field(default=1_000_000, gt=10_000, description="Encoded size cap.")
    image_format: ImageFormat = ImageFormat.JPEG
    max_pages: int = Field(default=20, ge=0, description="Pages per document sent as images.")


def pages_to_read(pages: Sequence[PageText], config: VisionConfig) -> list[int]:
    """Numbers of the pages whose text is still unusable after OCR (too little of it, or mostly
    not words), the first `max_pages` of them."""
    return [page.page for page in pages if text_unusable(page)][: config.max_pages]


def page_chunk_id(doc_id: str, page: int) -> str:
    """The ledger's and the extraction's chunk id of a page read from its image (text chunks
    are `<doc_id>-c001`...)."""
    return f"{doc_id}-p{page:03d}"


def instruction(page: int) -> str:
    """What the model is asked along with the image (no PHI: a page number)."""
    return (
        f"The attached image is page {page} of the document. Its text could not be read by OCR "
        "(handwriting or a poor scan). Record the clinical facts written on this page only. "
        "Quote the words exactly as they are written on the page; leave out anything you "
        "cannot read with confidence."
    )


def render_pages(
    path: Path,
    pages: Sequence[int],
    config: VisionConfig,
    limits: PdfLimits,
    password: str | None = None,
) -> list[PageImage]:
    """The pages' images within the size limits; a blank page (no ink) is left out."""
    if not pages:
        return []
    arguments = (str(path), list(pages), config, password or "")
    return run_limited(_render_in_child, arguments, limits)


def _render_in_child(
    path_name: str, pages: list[int], config: VisionConfig, password: str
) -> list[PageImage]:
    import pypdfium2

    document = pypdfium2.PdfDocument(path_name, password=password or None)
    try:
        images = []
        for number in pages:
            page = document[number - 1]
            width, height = page.get_size()  # points
            scale = min(config.max_side_px / max(width, height), MAX_RENDER_DPI / 72)
            picture = page.render(scale=scale).to_pil().convert("RGB")
            picture.thumbnail((config.max_side_px, config.max_side_px))  # pdfium rounds up
            if picture.convert("L").point(lambda level: 255 if level < _DARK else 0).getbbox():
                images.append(_encoded(number, picture, config))
        return images
    finally:
        document.close()


def _encoded(page: int, picture, config: VisionConfig) -> PageImage:
    """The picture encoded under `max_image_bytes`: lower JPEG quality first, then smaller."""
    while True:
        qualities = _QUALITIES if config.image_format is ImageFormat.JPEG else (None,)
        for quality in qualities:
            buffer = io.BytesIO()
            if quality is None:
                picture.save(buffer, format="PNG", optimize=True)
            else:
                picture.save(buffer, format="JPEG", quality=quality)
            if buffer.tell() <= config.max_image_bytes:
                return PageImage(
                    page=page,
                    media_type=f"image/{config.image_format.value}",
                    data_base64=base64.b64encode(buffer.getvalue()).decode(),
                    width=picture.width,
                    height=picture.height,
                )
        picture = picture.resize((max(picture.width * 3 // 4, 1), max(picture.height * 3 // 4, 1)))


def read_pages(
    chain: ExtractionChain,
    doc_id: str,
    images: Sequence[PageImage],
    run_id: str,
    document_type: DocumentType,
) -> list[tuple[int, ChunkResult]]:
    """(page, result) of each image sent through the chain of vision-capable providers."""
    return [
        (
            image.page,
            chain.extract_chunk(
                doc_id,
                page_chunk_id(doc_id, image.page),
                instruction(image.page),
                run_id,
                document_type,
                image=image,
            ),
        )
        for image in images
    ]
