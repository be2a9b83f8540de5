from django.core.management.base import CommandError

from mlops.lifecycle.promotion import GuardrailRefused, model_version_promote
from mlops.management.base import VersionOptionCommand
from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import PromotionRefused


class Command(VersionOptionCommand):
    help = (
        "Move alias champion to a registered version if the promotion guardrail passes (or --override) and the version loads "
        "and passes its smoke test here; recorded as done by 'cli'. Serving processes switch within NUTRILEARN_MODEL_POLL_SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--version", required=True, help="Registered version number.")
        parser.add_argument("--reason", required=True, help="Why (recorded with the change).")
        parser.add_argument(
            "--override",
            action="store_true",
            help="Promote even though the guardrail refuses (not worse than the champion could not be shown); the reason is recorded.",
        )

    def handle(self, *args, version, reason, override, **options):
        try:
            record = model_version_promote(version=version, actor=None, reason=reason, override=override)
        except GuardrailRefused as exc:
            raise CommandError(f"{exc} (--override)") from exc
        except (PromotionRefused, MlflowUnavailable, MlflowRejected) as exc:
            raise CommandError(str(exc)) from exc
        overridden = " over the guardrail" if record.kind == record.Kind.OVERRIDE else ""
        self.stdout.write(
            self.style.SUCCESS(f"Champion moved from version {record.from_version or 'none'} to {record.to_version}{overridden}.")
        )
        self.stdout.write(record.evidence["message"])
