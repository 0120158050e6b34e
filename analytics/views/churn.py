"""The "Churn prediction" page: the agency's model (or why there is none) and its backtest."""

from __future__ import annotations

from django.shortcuts import render

from analytics import charts, churn, churnmodel
from analytics.views.common import agency_staff, handles_bad_params
from analytics.views.overview import churn_status


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def _ratio(x) -> str:
    return "—" if x is None else f"{x:.3f}"


@handles_bad_params
@agency_staff
def churn_prediction(request):
    model = churn.model_for(request.agency)
    status = churn_status(model, request)
    # The backtest counts every sub-account of the agency: shown to those who see them all.
    whole_agency = request.allowed_location_ids is None
    backtest = model.backtest if model and whole_agency else {}
    pooled = []
    for h in churnmodel.HORIZONS:
        m = (backtest.get("pooled") or {}).get(str(h))
        if not m:
            continue
        lift = m["top_model"] / m["top_rules"] if m["top_rules"] else None
        pooled.append(
            {
                "horizon": h,
                "cutoffs": m["cutoffs"],
                "rows": m["rows"],
                "churned": m["churned"],
                "auc": _ratio(m["auc"]),
                "rules_auc": _ratio(m["rules_auc"]),
                "threshold": _pct(m["threshold"]),
                "precision": _pct(m["precision"]),
                "recall": _pct(m["recall"]),
                "rules_precision": _pct(m["rules_precision"]),
                "rules_recall": _pct(m["rules_recall"]),
                "top_model": _pct(m["top_model"]),
                "top_rules": _pct(m["top_rules"]),
                "lift": "—" if lift is None else f"{lift:.2f}x",
            }
        )
    cutoffs = [r for r in backtest.get("cutoffs", []) if r["horizon"] == churnmodel.HORIZON]
    auc_chart = charts.line_chart(
        [(r["day"], None if r["auc"] is None else r["auc"]) for r in cutoffs],
        "AUC",
        0,
        1,
        decimals=3,
    )
    top_chart = charts.line_chart(
        [(r["day"], r["top_model"] * 100) for r in cutoffs], "% churned", 0, None, decimals=1
    )
    calibration = (backtest.get("calibration") or {}).get(str(churnmodel.HORIZON), [])
    calibration_chart = charts.line_chart(
        [(c["bin"], None if c["observed"] is None else c["observed"] * 100) for c in calibration],
        "% churned",
        0,
        100,
        decimals=1,
    )
    return render(
        request,
        "analytics/churn.html",
        {
            "churn": status,
            "model": model,
            "pooled": pooled,
            "cutoffs": [
                {
                    **r,
                    "auc_text": _ratio(r["auc"]),
                    "top_model_text": _pct(r["top_model"]),
                    "top_rules_text": _pct(r["top_rules"]),
                }
                for r in cutoffs
            ],
            "skipped": backtest.get("skipped", []),
            "auc_chart": auc_chart,
            "top_chart": top_chart,
            "calibration": [
                {**c, "predicted_text": _pct(c["predicted"]), "observed_text": _pct(c["observed"])}
                for c in calibration
            ],
            "calibration_chart": calibration_chart,
            "definitions": churnmodel.__doc__,
            "whole_agency": whole_agency,
            "horizon": churnmodel.HORIZON,
        },
    )
