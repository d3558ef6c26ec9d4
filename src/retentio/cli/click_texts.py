"""Click's own texts, listed so that the catalogue extraction finds them (Click looks them up through the
stdlib's gettext, which the CLI points at Retentio's catalogue; see retentio.cli.setup_language).

Never imported: the list is for ``tools/catalog.py``. It names the texts a user of ``retentio`` meets.
"""

from retentio.i18n import N_

CLICK_TEXTS = [
    N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"), N_("Show this message and exit."),
    N_("Show the version and exit."), N_("Error: {message}"), N_("Try '{command} {option}' for help."),
    N_("Missing argument"), N_("Missing option"), N_("Missing parameter"), N_("Missing command."),
    N_("Missing {param_type}"), N_("Missing parameter: {param_name}"), N_("No such option {name!r}."),
    N_("No such command {name!r}."), N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
    N_("Option {name!r} does not take a value."), N_("Option {name!r} requires an argument."),
    N_("Got unexpected extra argument ({args})"), N_("Did you mean {possibility}?"),
    N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"), N_("{value!r} is not {choice}."),
    N_("{name} {filename!r} does not exist."), N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is a file."), N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."), N_("Could not open file {filename!r}: {message}"),
    N_("default: {default}"), N_("env var: {var}"), N_("required"), N_("Aborted!"), N_("file"), N_("directory"),
    N_("path"), N_("Do you want to continue?"),
]
