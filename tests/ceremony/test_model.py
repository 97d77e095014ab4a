"""The ceremony file: the examples load; inconsistent files are refused with the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.ceremony.errors import CeremonyFileError
from signing.ceremony.model import load_ceremony, parse_ceremony
from suit.cose import CoseAlgorithm

EXAMPLES = Path(__file__).parents[2] / "workbench" / "resources" / "ceremonies"


def test_root_key_example_loads() -> None:
    ceremony = load_ceremony(EXAMPLES / "root-key.toml")
    assert ceremony.name == "SUIT root key 2026"
    assert ceremony.roles.custodians == ("Carol Custodian", "Dave Custodian", "Erin Custodian")
    assert ceremony.threshold == 2
    assert ceremony.keys[0].label == "suit-root"
    assert ceremony.keys[0].algorithm is CoseAlgorithm.ESP256 and ceremony.keys[0].kind == "P-256"
    assert [s.action for s in ceremony.steps] == [
        "read", "record-hsm", "init-token", "generate-key", "export-public", "split-pin", "read"]
    assert ceremony.roles.members("all")[0] == "Alice Admin"
    assert ceremony.output_directory == EXAMPLES / "root-key-output"
    assert len(ceremony.source_sha256) == 64


def test_rotation_example_loads() -> None:
    ceremony = load_ceremony(EXAMPLES / "rotate-key.toml")
    assert ceremony.rotation is not None
    assert ceremony.rotation.new_key == "suit-root-2"
    assert len(ceremony.rotation.vendor_id) == 16
    assert "sign-rotation" in [s.action for s in ceremony.steps]


def _edit(old: str, new: str) -> str:
    text = (EXAMPLES / "root-key.toml").read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "where"), [
    ("threshold = 2", "threshold = 4", "quorum.threshold"),
    ("threshold = 2", "threshold = 0", "quorum.threshold"),
    ("shares = 3", "shares = 5", "quorum.shares"),
    ('algorithm = "ESP256"', 'algorithm = "RS256"', "keys[0].algorithm"),
    ('algorithm = "ESP256"', 'algorithm = "HMAC-256-256"', "keys[0].algorithm"),
    ('role = "witnesses"', 'role = "auditors"', "steps[1].role"),
    ('id = "record-hsm"', 'id = "open"', "steps[1].id"),
    ('id = "record-hsm"', 'id = "Record HSM"', "steps[1].id"),
    ('action = "init-token"', 'action = "format-disk"', "steps[2].action"),
    ('key = "suit-root"\nrole = "administrator"', 'key = "nope"\nrole = "administrator"',
     "steps[3]"),
    ('token_label = "suit-root-2026"', 'token_label = "' + "x" * 33 + '"', "hsm.token_label"),
    ('witnesses = ["Walter Witness"]', 'witnesses = ["Alice Admin"]', "roles"),
])
def test_inconsistent_files_are_refused_naming_the_place(old: str, new: str, where: str) -> None:
    with pytest.raises(CeremonyFileError) as info:
        parse_ceremony(_edit(old, new), Path("c.toml"))
    assert info.value.where == where
    assert str(info.value).startswith("c.toml: " + where)


def test_steps_out_of_order_are_refused() -> None:
    text = _edit('action = "init-token"', 'action = "read"')
    with pytest.raises(CeremonyFileError, match="must come after init-token"):
        parse_ceremony(text, Path("c.toml"))


def test_a_missing_split_step_is_refused() -> None:
    text = _edit('action = "split-pin"', 'action = "read"')
    with pytest.raises(CeremonyFileError, match="split-pin"):
        parse_ceremony(text, Path("c.toml"))


def test_bad_toml_names_the_line() -> None:
    with pytest.raises(CeremonyFileError, match="line 2"):
        parse_ceremony("[ceremony]\nname = \n", Path("c.toml"))


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(CeremonyFileError, match="cannot read"):
        load_ceremony(tmp_path / "absent.toml")
