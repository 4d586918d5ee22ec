"""Reading .fil / .h5 filterbank files, and what bad files do to the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from rficat import io
from rficat.cli import main
from rficat.errors import RficatError
from rficat.synthetic import synth


def test_headers_of_fil_and_h5_agree(observation):
    spec = observation["spec"]
    h5 = io.read_header(observation["h5"])
    fil = io.read_header(observation["fil"], spec.coarse_channel_width)
    for header in (h5, fil):
        assert header.source_name == "SYNTH_TARGET"
        assert header.telescope == "GBT"
        assert header.mjd_start == pytest.approx(spec.mjd_start)
        assert header.fch1_mhz == pytest.approx(spec.fch1_mhz)
        assert header.foff_mhz == pytest.approx(spec.foff_hz * 1e-6) and header.foff_mhz < 0
        assert header.tsamp_s == pytest.approx(spec.tsamp_s)
        assert (header.n_channels, header.n_integrations, header.n_ifs) == (spec.n_channels, 16, 1)
        assert header.coarse_channel_width == spec.coarse_channel_width
        assert header.f_max_mhz == pytest.approx(spec.fch1_mhz)
        assert header.f_min_mhz < header.f_max_mhz


def test_coarse_channel_width_rules(tmp_path):
    spec = synth.ObservationSpec(n_coarse_channels=2, coarse_channel_width=4096, seed=1)
    fil = tmp_path / "small.fil"
    synth.write_observation(fil, spec)
    # no nfpc in a .fil header; 2.79 Hz channels -> GBT rule says 2^20, wider than the file
    assert io.read_header(fil).coarse_channel_width == spec.n_channels
    assert io.read_header(fil, 4096).coarse_channel_width == 4096
    # GBT mid-resolution-like channels: 2.9296875 MHz / 2861 Hz = 1024 channels per coarse channel
    mid = synth.ObservationSpec(n_coarse_channels=2, coarse_channel_width=1024, foff_hz=-2861.02294921875)
    path = tmp_path / "mid.fil"
    synth.write_observation(path, mid)
    assert io.read_header(path).coarse_channel_width == 1024


def test_bitshuffle_h5_reads_like_plain(tmp_path):
    spec = synth.ObservationSpec(n_coarse_channels=1, coarse_channel_width=8192, seed=9)
    signals = [synth.Signal(f_start_mhz=float(spec.frequency_mhz(3000)), snr=50)]
    synth.write_observation(tmp_path / "plain.h5", spec, signals)
    synth.write_observation(tmp_path / "packed.h5", spec, signals, compression="bitshuffle")
    with io.FilterbankReader(tmp_path / "plain.h5") as a, io.FilterbankReader(tmp_path / "packed.h5") as b:
        assert b._data.compression is not None or b._data._filters
        assert np.array_equal(a.read_channels(0, 8192).data, b.read_channels(0, 8192).data)


@pytest.mark.parametrize("n_ints, expected", [(32, "mean of pairs"), (31, "every integration"), (8, "repeat"),
                                             (16, "same")])
def test_time_binning_to_16(n_ints, expected):
    block = np.arange(n_ints * 4, dtype=np.float32).reshape(n_ints, 4)
    out, times = io.bin_time(block, tsamp_s=2.0)
    assert out.shape == (16, 4) and times.shape == (16,)
    # bins are centred where their integrations are: the time axis spans the whole file
    assert times[0] > 0 and times[-1] < n_ints * 2.0
    if expected == "mean of pairs":
        assert_allclose(out[0], block[:2].mean(axis=0))
        assert_allclose(times, 2.0 * (2 * np.arange(16) + 1))
    elif expected == "every integration":
        assert_allclose(out.mean(axis=0), block.mean(axis=0), rtol=0.05)  # nothing dropped
        assert_allclose(out[-1], block[-2:].mean(axis=0))  # the last integrations are used
    elif expected == "repeat":
        assert_allclose(out[0], out[1]) and assert_allclose(out[0], block[0])
        assert_allclose(times[:2], [1.0, 1.0])
    else:
        assert out is block


def test_fingerprint_depends_on_content(tmp_path, observation):
    a = io.fingerprint(observation["h5"])
    assert a == io.fingerprint(observation["h5"])
    copy = tmp_path / "copy.h5"
    copy.write_bytes(observation["h5"].read_bytes())
    assert io.fingerprint(copy) == a
    assert io.fingerprint(observation["fil"]) != a


# --- bad input through the CLI -------------------------------------------------------------------

def _one_line_error(capsys, argv, *fragments):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rficat: error:"), err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_missing_file(capsys, tmp_path):
    _one_line_error(capsys, ["detect", str(tmp_path / "nope.h5")], "nope.h5", "no such file")


def test_truncated_fil(capsys, tmp_path, observation):
    path = tmp_path / "cut.fil"
    path.write_bytes(observation["fil"].read_bytes()[:-1000])
    _one_line_error(capsys, ["detect", str(path)], "cut.fil", "truncated")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_h5(capsys, tmp_path, observation, damage):
    path = tmp_path / "bad.h5"
    raw = observation["h5"].read_bytes()
    path.write_bytes(b"\x00garbage" * 100 if damage == "garbage" else raw[: len(raw) // 3])
    _one_line_error(capsys, ["detect", str(path)], "bad.h5")


def test_too_few_channels_per_coarse_channel(capsys, tmp_path):
    spec = synth.ObservationSpec(n_coarse_channels=1, coarse_channel_width=4096)
    path = tmp_path / "narrow.fil"
    synth.write_observation(path, spec)
    _one_line_error(capsys, ["detect", str(path), "--coarse-channel-width", "128"], "narrow.fil", "256")


def test_nan_channels_are_masked_and_counted(capsys, tmp_path):
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=2)
    signal = synth.Signal(f_start_mhz=float(spec.frequency_mhz(20000)), snr=50)
    path = tmp_path / "nans.h5"
    synth.write_observation(path, spec, [signal], nan_channels=[6000, 6001])
    assert main(["detect", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # the windows holding channels 6000-6001 are measured on their other 254 channels
    assert result["summary"]["nonfinite_windows_skipped"] == 0
    assert result["summary"]["bad_samples"] == 2 * 16
    assert [h["chan_start"] <= 20000 < h["chan_stop"] for h in result["hits"]] == [True]


def test_unknown_suffix(tmp_path):
    path = tmp_path / "obs.txt"
    path.write_text("x")
    with pytest.raises(RficatError, match="unknown file type"):
        io.FilterbankReader(path)


def test_detect_cli_json_matches_library(capsys, observation):
    assert main(["detect", str(observation["h5"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["summary"]["hits"] == len(result["hits"]) == len(observation["truth"])
    assert {"f_start_mhz", "f_stop_mhz", "f_center_mhz", "snr", "drift_rate_hz_s"} <= set(result["hits"][0])
