"""Aspect text: the part of a paper that says what problem it works on (`task`) or what kind
of model it builds (`method`).

Grouping papers by their whole text mixes both; grouping by the sentences that carry cue
words for one aspect separates them ("a transformer for segmentation" and "a transformer for
translation" share a method, not a task). The aspect text is embedded with the store's
embedder and clustered like the main topics.
"""

from __future__ import annotations

import re

#: Cue words of a task or application: the problem or output the paper is about.
TASK_CUES = re.compile(
    r"\b(task|problem|application|classification|segmentation|detection|recognition|"
    r"translation|recommendation|prediction|forecasting|generation|retrieval|summari[sz]ation|"
    r"question answering|estimation|tracking|control|planning|diagnosis|parsing|captioning|"
    r"reconstruction|synthesis|localization|navigation|benchmark|dataset|for the|we study|"
    r"we address|we consider|we tackle)\b",
    re.I,
)
#: Cue words of a method or model family: what the paper builds.
METHOD_CUES = re.compile(
    r"\b(we (?:propose|introduce|present|develop|design|train)|our (?:method|model|approach|"
    r"framework|algorithm)|network|transformer|architecture|algorithm|model|encoder|decoder|"
    r"diffusion|attention|kernel|bayesian|regression|reinforcement|contrastive|adversarial|"
    r"gradient|optimi[sz]\w*|graph|tree|boosting|sampling|variational|autoencoder|llm|"
    r"language model|convolutional|recurrent|lstm|mixture)\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
#: Aspect text is short: the embedder reads its start only, and a cue sentence is enough.
MAX_SENTENCES = 3
ASPECTS = {"task": TASK_CUES, "method": METHOD_CUES}


def sentences(abstract: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(abstract) if s.strip()]


def aspect_text(aspect: str, title: str, abstract: str) -> str:
    """The title-free cue sentences for `aspect` (up to MAX_SENTENCES, in order), falling
    back to the title when no sentence has a cue. The task aspect prefers the abstract's
    opening (where a problem is usually stated); the method aspect, what "we propose"."""
    cues = ASPECTS[aspect]
    found = sentences(abstract)
    picked = [s for s in found if cues.search(s)]
    if aspect == "method":
        # the sentences saying what the authors built come first
        picked.sort(key=lambda s: not re.search(r"\bwe (propose|introduce|present)", s, re.I))
    text = " ".join(picked[:MAX_SENTENCES])
    return text or title
