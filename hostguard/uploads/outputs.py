"""What a model outputs (text, image, video, audio, ...), from the check's body or the Hub's
`pipeline_tag`: statements about outputs are asked only of models that produce them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

OutputKind = Literal["text", "image", "video", "audio", "3d", "other"]
OUTPUT_KINDS: tuple[str, ...] = ("text", "image", "video", "audio", "3d", "other")

# Hub pipeline tags (huggingface.co/tasks) whose outputs the suffix rule below does not name.
_PIPELINE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "unconditional-image-generation": ("image",),
    "image-inpainting": ("image",),
    "text-to-speech": ("audio",),
    "any-to-any": ("text", "image", "video", "audio"),
    "text-generation": ("text",),
    "text2text-generation": ("text",),
    "summarization": ("text",),
    "translation": ("text",),
    "fill-mask": ("text",),
    "question-answering": ("text",),
    "table-question-answering": ("text",),
    "visual-question-answering": ("text",),
    "document-question-answering": ("text",),
    "conversational": ("text",),
    "automatic-speech-recognition": ("text",),
}
# tasks that label, score, embed or locate rather than generate media
_ANALYSIS_SUFFIXES = (
    "-classification",
    "-detection",
    "-segmentation",
    "-estimation",
    "-extraction",
    "-similarity",
    "-ranking",
    "-retrieval",
    "-regression",
    "mask-generation",
    "keypoint-matching",
    "token-classification",
)
_SUFFIX_OUTPUTS = (
    ("-to-image", "image"),
    ("-to-video", "video"),
    ("-to-audio", "audio"),
    ("-to-speech", "audio"),
    ("-to-3d", "3d"),
    ("-to-text", "text"),
)


def outputs_of_pipeline_tag(tag: str | None) -> list[str] | None:
    """The outputs a Hub `pipeline_tag` stands for; None when there is no tag or it is unknown
    (then every statement is asked, as for a model whose outputs nobody named)."""
    if not tag:
        return None
    tag = tag.strip().lower()
    if tag in _PIPELINE_OUTPUTS:
        return list(_PIPELINE_OUTPUTS[tag])
    for suffix, kind in _SUFFIX_OUTPUTS:
        if tag.endswith(suffix):
            return [kind]
    if tag.endswith(_ANALYSIS_SUFFIXES):
        return ["other"]
    return None


def model_outputs(outputs: Sequence[str] | None, pipeline_tag: str | None) -> list[str] | None:
    """What the check's body says the model outputs: `outputs` wins over `pipeline_tag`."""
    if outputs:
        return sorted(set(outputs), key=OUTPUT_KINDS.index)
    return outputs_of_pipeline_tag(pipeline_tag)
