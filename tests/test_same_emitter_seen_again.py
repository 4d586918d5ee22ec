"""The same emitter seen again (migration 0025): one sighting of a stationary signal at its own
frequency makes it RFI, and sightings are looked for where the signal is.

Four observations (setigen, GBT resolution, fixed seeds), none in a cadence. The target holds a
stationary carrier and one drifting +0.30 Hz/s. One reference observation holds both again at the
same frequencies (the same transmitters seen from another pointing); two others hold carriers
of the same shape drifting -0.50 Hz/s far away (no evidence: they drift otherwise). So each of
the target's carriers has exactly one lookalike: enough for the stationary one, not for the
drifting one, which is what a technosignature looks like too. A second catalogue holds a drifting
carrier whose own fainter sightings in two reference observations are not among its nearest
pictures in the bank: brighter carriers drifting alike elsewhere in the band are.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from rficat.catalogue import ingest, rfi, verdicts
from rficat.store import db
from rficat.synthetic import synth

CHANNELS = {"stationary": (20_000, 0.0), "drifting": (50_000, 0.30)}
AWAY = ((35_000, -0.50), (65_000, -0.50))


@pytest.fixture(scope="module")
def seen_again(server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("seen_again")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=29)

    def carriers(layout) -> list[synth.Signal]:
        return [synth.Signal(spec.frequency_mhz(channel), drift, snr=40.0, width_hz=10.0, label=str(channel))
                for channel, drift in layout]

    layouts = {"target": CHANNELS.values(), "reference0": CHANNELS.values(), "reference1": AWAY, "reference2": AWAY}
    paths = {}
    for i, (name, layout) in enumerate(layouts.items()):
        path = directory / f"{name}.h5"
        synth.write_observation(path, replace(spec, source_name=name.upper(), mjd_start=spec.mjd_start + i,
                                              seed=2900 + i), carriers(layout))
        paths[name] = path
    with db.scratch_database(server_url, "seen_again") as url:
        engine = db.make_engine(url)
        for path in paths.values():
            ingest.ingest_file(engine, path, n_noise_per_channel=2)
        rfi.build(engine, min_cluster_size=3)
        with engine.connect() as conn:
            target = {name: conn.execute(sa.text(
                "SELECT s.id FROM snippets s JOIN observations o ON o.id = s.observation_id"
                " WHERE o.source_name = 'TARGET' AND s.is_signal ORDER BY abs(s.f_center_mhz - :f) LIMIT 1"),
                {"f": spec.frequency_mhz(channel)}).scalar() for name, (channel, _) in CHANNELS.items()}
        yield {"engine": engine, "target": target}
        engine.dispose()


def _sql_verdicts(engine, snippet_ids: list[int]) -> dict[int, tuple[str, str, list]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT s.id, v.verdict, v.explanation, v.evidence"
                                    " FROM unnest(CAST(:ids AS bigint[])) s(id), rficat_verdict(s.id) v"),
                            {"ids": snippet_ids}).all()
    return {r.id: (r.verdict, r.explanation, r.evidence) for r in rows}


def _bank_and_queries(engine, snippet_ids: list[int]):
    """The current build's rules and bank, and the stored snippets as verdict queries."""
    with db.raw_connection(engine) as conn:
        build_id, model_id, rules = verdicts.current_build(conn)
        bank = verdicts.cached_bank(conn, build_id)
        rows = conn.cursor(binary=True).execute(verdicts.SNIPPET_SQL + " WHERE s.id = ANY(%s)",
                                                (model_id, snippet_ids)).fetchall()
    return rules, bank, verdicts.snippet_queries(rows)


def test_a_stationary_signal_seen_again_at_its_frequency_is_likely_rfi(seen_again):
    engine, target = seen_again["engine"], seen_again["target"]
    ids = list(target.values())
    in_python = verdicts.judge_snippets(engine, ids)
    in_sql = _sql_verdicts(engine, ids)
    for i in ids:  # one rule, two implementations
        assert in_python[i].verdict == in_sql[i][0], (in_python[i].explanation, in_sql[i][1])
        assert [e["snippet_id"] for e in in_python[i].evidence] == [e["snippet_id"] for e in in_sql[i][2]]
    stationary, drifting = in_python[target["stationary"]], in_python[target["drifting"]]
    assert stationary.verdict == "likely_rfi" and len(stationary.evidence) == 1, stationary.explanation
    assert "seen again at its own frequency from another pointing" in stationary.explanation
    # the drifting carrier has one lookalike at its frequency too, drifting like it: not enough
    assert drifting.verdict == "candidate" and len(drifting.evidence) == 1, drifting.explanation


def test_without_the_rule_one_lookalike_is_not_enough(seen_again):
    """The build's here_min_evidence is the rule's knob: asking for two, the stationary carrier's
    single sighting leaves it a candidate (the rule before migration 0025)."""
    rules, bank, queries = _bank_and_queries(seen_again["engine"], [seen_again["target"]["stationary"]])
    strict = verdicts.Rules.from_dict({**rules.to_dict(), "here_min_evidence": 2})
    [judged] = verdicts.judge(bank, queries, strict)
    assert judged.verdict == "candidate" and len(judged.evidence) == 1, judged.explanation


@pytest.fixture(scope="module")
def crowded(server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("crowded")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=31)
    here, drift = 50_000, 0.30

    def carrier(channel: int, snr: float) -> synth.Signal:
        return synth.Signal(spec.frequency_mhz(channel), drift, snr=snr, width_hz=10.0, label=str(channel))

    layouts = {"target": [carrier(here, 40.0)],
               "sighting0": [carrier(here, 20.0)], "sighting1": [carrier(here, 20.0)],  # the same emitter, fainter
               "elsewhere0": [carrier(20_000, 40.0), carrier(35_000, 40.0)],  # alike, at other frequencies
               "elsewhere1": [carrier(65_000, 40.0), carrier(80_000, 40.0)]}
    paths = []
    for i, (name, signals) in enumerate(layouts.items()):
        path = directory / f"{name}.h5"
        synth.write_observation(path, replace(spec, source_name=name.upper(), mjd_start=spec.mjd_start + i,
                                              seed=3100 + i), signals)
        paths.append(path)
    with db.scratch_database(server_url, "crowded") as url:
        engine = db.make_engine(url)
        for path in paths:
            ingest.ingest_file(engine, path, n_noise_per_channel=2)
        rfi.build(engine, min_cluster_size=3, rules=verdicts.Rules(k=2))
        with engine.connect() as conn:
            target = conn.execute(sa.text(
                "SELECT s.id FROM snippets s JOIN observations o ON o.id = s.observation_id"
                " WHERE o.source_name = 'TARGET' AND s.is_signal ORDER BY abs(s.f_center_mhz - :f) LIMIT 1"),
                {"f": spec.frequency_mhz(here)}).scalar()
            sightings = set(conn.execute(sa.text(
                "SELECT s.id FROM snippets s JOIN observations o ON o.id = s.observation_id"
                " WHERE o.source_name LIKE 'SIGHTING%' AND s.is_signal AND abs(s.f_center_mhz - :f) < 0.001"),
                {"f": spec.frequency_mhz(here)}).scalars())
        yield {"engine": engine, "target": target, "sightings": sightings}
        engine.dispose()


def test_the_same_emitter_is_looked_for_at_its_frequency_not_only_among_the_nearest(crowded):
    engine, target, sightings = crowded["engine"], crowded["target"], crowded["sightings"]
    assert len(sightings) == 2
    rules, bank, queries = _bank_and_queries(engine, [target])
    assert rules.k == 2
    nearest, _ = bank.nearest(queries.latent, rules.k)
    assert not sightings & set(bank.snippet_id[nearest[0]].tolist())  # brighter strangers are nearer
    judged = verdicts.judge_snippets(engine, [target])[target]
    in_sql = _sql_verdicts(engine, [target])[target]
    assert judged.verdict == in_sql[0] == "likely_rfi", (judged.explanation, in_sql[1])
    assert {e["snippet_id"] for e in judged.evidence} == {e["snippet_id"] for e in in_sql[2]} == sightings
