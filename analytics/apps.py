from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        # The pages' cached summary of the agency's churn model (analytics.churn.summary_for)
        # goes when the model's row is written or deleted.
        from django.db.models.signals import post_delete, post_save

        from accounts import pagecache
        from analytics import churn
        from analytics.models import ChurnModel

        pagecache.register("churn summary", churn.summary_key)
        post_save.connect(churn.on_model_change, sender=ChurnModel, dispatch_uid="churn.summary")
        post_delete.connect(
            churn.on_model_change, sender=ChurnModel, dispatch_uid="churn.summary.del"
        )
