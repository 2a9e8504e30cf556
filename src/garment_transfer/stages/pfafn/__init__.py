"""PF-AFN (Ge et al., CVPR 2021; ``SYSTEMS.md`` 1): the parser-based warp and try-on model, then the parser-free warp
and try-on model distilled through them ("teacher-tutor-student"), one stage folder each. ``common.py`` holds what
the four share."""
