import pytest

from rlaif.core.config import Config, ConfigError, describe, load_config, section_hash


def test_defaults_and_yaml_and_flags(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("out: runs/x\nsft:\n  lr: 1\n  epochs: 2\nmodel:\n  lora:\n    enabled: true\n")
    cfg = load_config(f, ["sft.epochs=3", "--sample.n=4", "model.lora.target_modules=[q_proj]"])
    assert cfg.out == "runs/x"
    assert cfg.sft.lr == 1.0 and isinstance(cfg.sft.lr, float)  # int accepted for float
    assert cfg.sft.epochs == 3.0
    assert cfg.sample.n == 4
    assert cfg.model.lora.enabled is True and cfg.model.lora.target_modules == ["q_proj"]
    assert cfg.sft.batch_size == Config().sft.batch_size


def test_unknown_key_names_key_and_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("sft:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*'sft.learning_rate'"):
        load_config(f)


def test_wrong_type_names_key_and_origin(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("sample:\n  n: two\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*'sample.n' must be int"):
        load_config(f)
    with pytest.raises(ConfigError, match=r"command-line flags.*'model.lora.enabled' must be true or false"):
        load_config(None, ["model.lora.enabled=3"])
    with pytest.raises(ConfigError, match=r"'sft.lr' must be float"):
        load_config(None, ["sft.lr=true"])


def test_section_not_mapping_and_bad_yaml(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("sft: 3\n")
    with pytest.raises(ConfigError, match="'sft' must be a mapping"):
        load_config(f)
    f.write_text("sft: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_describe_lists_every_leaf_with_help():
    rows = describe(Config)
    keys = [k for k, _, _ in rows]
    assert "model.lora.r" in keys and "sample.temperature" in keys
    assert all(h for _, _, h in rows), [k for k, _, h in rows if not h]


def test_section_hash_changes_only_with_its_sections():
    a, b = Config(), load_config(None, ["sample.n=5"])
    assert section_hash(a, ["sft"]) == section_hash(b, ["sft"])
    assert section_hash(a, ["sample"]) != section_hash(b, ["sample"])


def test_shipped_pipeline_configs_load():
    from pathlib import Path

    files = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))
    assert files
    for f in files:
        cfg = load_config(f)
        assert cfg.task and cfg.model.name, f
