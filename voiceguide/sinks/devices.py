"""Audio outputs as PortAudio sees them, and the format a device accepts.

sounddevice is imported only when a device is needed: without libportaudio2
the import itself fails, and everything else in voiceguide must keep
working on such a machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DeviceError
from ..i18n import N_, _
from ..rules import SAMPLE_RATES

NO_DEVICE = N_("no audio output device found; write the session to a file instead: voiceguide export NAME -o session.mp3")
NO_INPUT_DEVICE = N_(
    "no microphone (audio input device) found; record elsewhere and import the take: voiceguide record SCRIPT --from-take FILE -o PACK"
)


def sounddevice_module() -> Any:
    """Import sounddevice, or explain in one line why playback is impossible."""
    try:
        import sounddevice
    except OSError:  # the module loads, but PortAudio itself is missing
        raise DeviceError(
            _(
                "PortAudio is not installed, so nothing can be played; install it (sudo apt-get install libportaudio2) or write a file with 'voiceguide export'"
            )
        ) from None
    except ImportError:
        raise DeviceError(
            _("the sounddevice package is missing; pip install sounddevice, or write a file with 'voiceguide export'")
        ) from None
    return sounddevice


# --- devices ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """One audio output as PortAudio sees it."""

    index: int
    name: str
    hostapi: str
    channels: int
    """Maximum output channels (input channels for an input device)."""
    default_rate: int
    """The device's default sample rate in Hz."""
    is_default: bool = False


def output_devices() -> list[DeviceInfo]:
    """Every device with at least one output channel (empty without a sound card)."""
    return _devices("output")


def input_devices() -> list[DeviceInfo]:
    """Every device with at least one input channel (microphones)."""
    return _devices("input")


def _devices(kind: str) -> list[DeviceInfo]:
    sd = sounddevice_module()
    channels = f"max_{kind}_channels"
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default = sd.default.device[1 if kind == "output" else 0]
    except sd.PortAudioError as exc:
        raise DeviceError(_("cannot list audio devices ({reason})").format(reason=exc)) from None
    return [
        DeviceInfo(
            int(d["index"]),
            str(d["name"]),
            str(hostapis[d["hostapi"]]["name"]),
            int(d[channels]),
            int(d["default_samplerate"]),
            int(d["index"]) == default,
        )
        for d in devices
        if d[channels] > 0
    ]


def find_device(device: int | str | None = None) -> DeviceInfo:
    """The output ``device`` names (an index, or part of a name), or the
    system's default output (the first output when there is no default).

    Raises DeviceError when there is no output at all or none matches.
    """
    return _match(device, output_devices(), "output", _(NO_DEVICE))


def find_input_device(device: int | str | None = None) -> DeviceInfo:
    """The input ``device`` names (an index, or part of a name), or the
    system's default input, like :func:`find_device` for outputs."""
    return _match(device, input_devices(), "input", _(NO_INPUT_DEVICE))


def _match(device: int | str | None, outputs: list[DeviceInfo], kind: str, none_found: str) -> DeviceInfo:
    """The one of ``outputs`` (devices of ``kind``) that ``device`` names."""
    if not outputs:
        raise DeviceError(none_found)
    if device is None or device == "":
        return next((d for d in outputs if d.is_default), outputs[0])
    if isinstance(device, int) or str(device).strip().isdigit():
        wanted = int(device)
        found = [d for d in outputs if d.index == wanted]
    else:
        needle = str(device).strip().lower()
        found = [d for d in outputs if d.name.lower() == needle] or [d for d in outputs if needle in d.name.lower()]
    if len(found) == 1:
        return found[0]
    listing = ", ".join(f"{d.index} {d.name}" for d in (found or outputs))
    if not found:
        command = "voiceguide devices" + (" --input" if kind == "input" else "")
        raise DeviceError(
            _("no {kind} device matches '{device}'; choose one of: {listing} (see '{command}')").format(
                kind=kind, device=device, listing=listing, command=command
            )
        )
    raise DeviceError(
        _("'{device}' matches several {kind} devices: {listing}; give the number").format(
            device=device, kind=kind, listing=listing
        )
    )


def is_available(device: int | str | None = None) -> bool:
    """Whether ``device`` (default: the system's output) exists and can play."""
    try:
        info = find_device(device)
        choose_format(sounddevice_module(), info)
    except DeviceError:
        return False
    return True


def choose_format(sd: Any, device: DeviceInfo, preferred_rate: int | None = None) -> tuple[int, int]:
    """The first (sample rate, channels) the device accepts: mono where it
    can (the mix is mono), else stereo with the mix on both channels."""
    rates = [preferred_rate] if preferred_rate else []
    rates += [rate for rate in SAMPLE_RATES if rate == device.default_rate] + list(SAMPLE_RATES)
    for rate in dict.fromkeys(rates):
        for channels in (1, 2):
            if channels > device.channels:
                continue
            try:
                sd.check_output_settings(device=device.index, samplerate=rate, channels=channels, dtype="float32")
            except (sd.PortAudioError, ValueError):
                continue
            return rate, channels
    raise DeviceError.naming(
        _(
            "output device '{name}' accepts none of {items} Hz; choose another with {device} (see 'voiceguide devices') or use 'voiceguide export'"
        ),
        {"device": "device"},
        name=device.name,
        items=", ".join(map(str, SAMPLE_RATES)),
    )
