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


# --- real Breakthrough Listen files --------------------------------------------------------------

REAL_FILES = ["shipped", "blimpy_h5", "blimpy_fil", "setigen_fil", "injected_fil", "injected_h5"]


@pytest.mark.parametrize("kind", REAL_FILES)
def test_real_gbt_header(real_gbt, kind):
    header = io.read_header(real_gbt[kind])
    assert header.source_name == "DIAG_SGR_B2" and header.telescope == "GBT"
    # src_raj 17h47m15s, src_dej -28d22m59s (blimpy hands .fil positions over as astropy Angles)
    assert header.ra_deg == pytest.approx(17.7875 * 15) and header.dec_deg == pytest.approx(-28.3831)
    assert (header.n_integrations, header.n_channels, header.n_ifs) == (32, 1024, 1)
    assert header.foff_mhz == pytest.approx(-1.3969838619232178e-06) and header.tsamp_s == pytest.approx(1.4316557)
    assert header.mjd_start == pytest.approx(58465.717094907406)
    # no nfpc: the GBT rule asks for 2^21 channels of 1.4 Hz, more than the file has: one coarse channel
    assert header.coarse_channel_width == 1024 and header.n_coarse_channels == 1
    raw = json.loads(json.dumps(header.raw, allow_nan=False))  # JSON-able, as the catalogue stores it
    assert raw["src_raj"] == pytest.approx(17.7875) and raw["src_dej"] == pytest.approx(-28.3831)
    assert raw["rawdatafile"].startswith("blc13_guppi")


def test_real_gbt_fil_and_its_h5_read_the_same(real_gbt):
    with io.FilterbankReader(real_gbt["shipped"]) as fil, io.FilterbankReader(real_gbt["blimpy_h5"]) as h5:
        a, b = fil.read_channels(0, 1024), h5.read_channels(0, 1024)
    assert np.array_equal(a.data, b.data)
    # 32 integrations become 16 bins of two, centred on their pairs
    assert_allclose(a.bin_times_s, (2 * np.arange(16) + 1) * 1.431655765333332)


@pytest.mark.parametrize("kind", ["injected_fil", "injected_h5"])
def test_signal_injected_into_the_real_frame_is_found(real_gbt, kind, capsys):
    assert main(["detect", str(real_gbt[kind]), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    truth = real_gbt["truth"]
    near = [h for h in hits if abs(h["f_center_mhz"] - truth["f_mid_mhz"]) * 1e6 < 10 * truth["channel_hz"]]
    assert len(near) == 1, hits
    assert near[0]["drift_rate_hz_s"] == pytest.approx(truth["drift_hz_s"], rel=0.1)


def test_detect_cli_on_the_real_file(real_gbt, capsys):
    assert main(["detect", str(real_gbt["shipped"]), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["coarse_channels"] == 1 and summary["bad_samples"] == 0


def test_files_written_by_setigen_for_the_evaluation_set_read(tmp_path):
    """benchmarks/evalset.py writes with setigen's own writers (through blimpy), no rficat code."""
    import subprocess
    import sys
    from pathlib import Path

    from rficat.science import detect

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "evalset.py"
    subprocess.run([sys.executable, str(script), str(tmp_path), "--channels", "65536", "--format", "fil"],
                   check=True, capture_output=True, timeout=600)
    truth = json.loads((tmp_path / "truth.json").read_text())
    files = sorted(tmp_path.glob("*.fil"))
    assert len(files) == 14
    for path in files:
        header = io.read_header(path)
        assert (header.n_channels, header.n_integrations) == (65536, 16)
        json.dumps(header.raw, allow_nan=False)
    hits = [h for _, _, r in detect.detect_file(files[0]) for h in r.hits]
    assert len(hits) >= 10, truth.keys()


# --- headers that make no sense ----------------------------------------------------------------

def _fil(path, **changes):
    """A small .fil file whose header has ``changes`` (None removes a key)."""
    spec = synth.ObservationSpec(n_coarse_channels=1, coarse_channel_width=1024, seed=4)
    header = {**spec.header(), **changes}
    header = {k: v for k, v in header.items() if v is not None}
    writer = io.open_writer(path, header, spec.n_integrations, spec.n_channels)
    writer.write(0, np.ones((spec.n_integrations, spec.n_channels), np.float32))
    writer.close()
    return path


@pytest.mark.parametrize("changes, fragment", [
    ({"nchans": 0}, "nchans is 0"),
    ({"nchans": -4}, "nchans is -4"),
    ({"tsamp": 0.0}, "tsamp is 0.0"),
    ({"tsamp": -18.0}, "tsamp is -18.0"),
    ({"tsamp": float("nan")}, "tsamp is nan"),
    ({"foff": 0.0}, "foff is 0.0"),
    ({"nifs": 0}, "nifs is 0"),
    ({"nbits": 12}, "12-bit"),
    ({"fch1": None}, "lacks 'fch1'"),
])
def test_nonsense_fil_header(capsys, tmp_path, changes, fragment):
    path = _fil(tmp_path / "odd.fil", **changes)
    _one_line_error(capsys, ["detect", str(path)], "odd.fil", fragment)


@pytest.mark.parametrize("layout, fragment", [("group", "'data' is an HDF5 group"), ("2d", "shape"),
                                              ("empty", "no samples"), ("tsamp", "tsamp is 0"),
                                              ("text", "not numbers")])
def test_nonsense_h5(capsys, tmp_path, layout, fragment):
    import h5py

    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        if layout == "group":
            f.create_group("data").create_dataset("x", data=np.ones(4))
        else:
            shape = {"2d": (16, 1024), "empty": (0, 1, 1024)}.get(layout, (16, 1, 1024))
            dtype = "S4" if layout == "text" else "f4"
            data = f.create_dataset("data", shape=shape, dtype=dtype)
            for key, value in {"fch1": 1500.0, "foff": -2.8e-6, "nchans": 1024,
                               "tsamp": 0.0 if layout == "tsamp" else 18.0}.items():
                data.attrs[key] = value
    _one_line_error(capsys, ["detect", str(path)], "odd.h5", fragment)


@pytest.mark.parametrize("cut", ["in the header", "in the data"])
def test_truncated_real_fil(capsys, tmp_path, real_gbt, cut):
    raw = real_gbt["shipped"].read_bytes()
    path = tmp_path / "cut.fil"
    path.write_bytes(raw[:200] if cut == "in the header" else raw[:-10])
    _one_line_error(capsys, ["detect", str(path)], "cut.fil")


def test_truncated_compressed_h5_data(capsys, tmp_path):
    """The header survives, the compressed chunks do not: the read fails in one line."""
    spec = synth.ObservationSpec(n_coarse_channels=2, coarse_channel_width=8192, seed=9)
    whole = tmp_path / "whole.h5"
    synth.write_observation(whole, spec, compression="bitshuffle")
    raw = whole.read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(raw[: int(len(raw) * 0.6)])
    _one_line_error(capsys, ["detect", str(path)], "cut.h5")
