"""Live playback: ``play`` and ``devices``."""

from __future__ import annotations

import click

from ..errors import DeviceError
from ..i18n import _
from ..live import prepare_live_session
from ..parse.exercises import load_script
from ..practice.log import session_length_s
from ..sinks.devices import NO_DEVICE, NO_INPUT_DEVICE, input_devices, output_devices
from .options import (
    ambience_options,
    announce_voice,
    data_dir,
    data_dir_option,
    length_options,
    mix_request,
    table,
    target_seconds,
    voice_options,
    voice_request,
)
from .practice import after_play
from .terminal import play_interactive


@click.command()
@click.argument("script")
@click.option(
    "--device", help="Output device: its number or part of its name (see 'voiceguide devices'). Default: the system's output."
)
@click.option("--quiet", is_flag=True, help="Show nothing while playing (keys still work).")
@click.option("--next", "use_next", is_flag=True, help="Play the length 'voiceguide next' suggests from your practice log.")
@click.option("--no-diary", is_flag=True, help="Do not offer a diary entry afterwards.")
@voice_options
@length_options
@ambience_options
@data_dir_option
def play(
    script: str,
    device: str | None,
    quiet: bool,
    use_next: bool,
    no_diary: bool,
    lang: str | None,
    minutes: float | None,
    length: str | None,
    **options,
) -> None:
    """Play a session live on an audio output.

    Keys (no Enter needed): space pauses and resumes, left goes back to the
    start of the sentence or breath cycle, right skips to the next chapter,
    q or Esc stops with a fade; Ctrl-C fades out and exits 130.

    \b
    Example:
      voiceguide play zelfkalmering --lang en
      voiceguide play zelfkalmering --next
      voiceguide play my-script.vg --minutes 10 --device 2 --quiet
    """
    target_s = session_length_s(script, lang, target_s=target_seconds(minutes, length), use_next=use_next, data_dir=data_dir())

    loaded = load_script(script, lang)
    request = announce_voice(loaded, voice_request(options), quiet=quiet)

    def prepare(sample_rate: int):  # called once the output is already running
        return prepare_live_session(loaded, voice=request, mix=mix_request(options, sample_rate), target_s=target_s)

    outcome = play_interactive(prepare, device=device, quiet=quiet)
    after_play(script, lang, outcome, offer_diary=not (quiet or no_diary))


@click.command()
@click.option(
    "--input", "inputs", is_flag=True, help="List the microphones (input devices) instead, for 'record --input-device'."
)
def devices(inputs: bool) -> None:
    """List the audio output devices; exits 1 when there is none.

    \b
    Example:
      voiceguide devices
      voiceguide devices --input
    """
    found = input_devices() if inputs else output_devices()
    if not found:
        raise DeviceError(_(NO_INPUT_DEVICE if inputs else NO_DEVICE))
    rows = [
        (str(d.index) + (" *" if d.is_default else ""), d.name, d.hostapi, str(d.channels), str(d.default_rate)) for d in found
    ]
    table((_("DEVICE"), _("NAME"), _("SYSTEM"), _("CHANNELS"), _("RATE")), rows)
