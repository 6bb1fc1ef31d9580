"""Home's demo list: the three-modality digits-media demo first, explained, with its ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dashboard_helpers import no_exceptions

from mmcorr.data import DEMO_NAMES


def _demo_buttons(app: Any) -> list[Any]:
    return [b for b in app.button if str(b.key).startswith("demo_")]


def test_home_lists_digits_media_first_with_what_it_is_and_its_ceiling(app: Any) -> None:
    app.run()
    no_exceptions(app)
    buttons = _demo_buttons(app)
    assert [b.key for b in buttons] == [f"demo_{n}" for n in DEMO_NAMES]
    first = buttons[0]
    assert first.key == "demo_digits-media" and first.label == "Load the digits-media demo"
    assert all(word in first.help for word in ("picture", "sentence", "sound", "thickness", "slant", "size"))
    ceiling = [c.value for c in app.caption if "perfect model" in c.value]
    assert len(ceiling) == 1
    assert "Recall@1" in ceiling[0] and "`docs/demo_digits.md`" in ceiling[0]


def test_loading_digits_media_registers_it_and_opens_train(app: Any, mmcorr_home: Path) -> None:
    app.run()
    app.button(key="demo_digits-media").click().run()
    no_exceptions(app)
    from mmcorr.data import DatasetRegistry

    reg = DatasetRegistry()
    (saved,) = reg.list()
    assert saved.name == "digits-media" and set(saved.modalities) == {"image", "text", "audio"}
    assert app.session_state["mmcorr_dataset_id"] == saved.id
    assert {s.kind for s in reg.media(saved.id).values()} == {"image", "text", "audio"}
