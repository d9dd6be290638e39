"""The MLflow pyfunc model, logged *from code* (not pickled).

MLflow executes this file when loading the model: it wraps the exported segml
pipeline, whose joblib file and model card are the model's artifacts. Before
the pipeline is unpickled, every file of the logged model is checked against
the model's manifest (``segml_manifest.json``) and the artifacts against the
model card; the pipeline is then read where MLflow keeps the artifacts (no
temporary copy). Boolean columns (``has_history``, ...) are declared ``Any`` in
the signature and parsed strictly here: MLflow would read ``"False"`` as true.
Loading the model also turns pandas' padding of short rows (a ragged
``dataframe_split`` body) into an error in this process.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class SegmlPyfuncModel(PythonModel):
    """Score customers and leads with the segml predict contract."""

    def load_context(self, context) -> None:
        import warnings

        from pandas.errors import Pandas4Warning

        from segml.persist import load_model_file
        from segml.tracking.model import column_kinds, verify_logged_model

        # MLflow's server builds a ``dataframe_split`` body with pandas, which
        # pads a row that is too short with missing values (deprecated, "will
        # raise"): where this model is loaded, that is an error (HTTP 400),
        # never a row scored on values nobody sent.
        warnings.filterwarnings(
            "error",
            message="Constructing a DataFrame from a list of sequences with "
            "mismatched lengths",
            category=Pandas4Warning,
        )

        artifact = Path(context.artifacts["pipeline"])
        verify_logged_model(artifact)
        self.pipeline = load_model_file(artifact)
        kinds = column_kinds(self.pipeline)
        self.boolean_columns = [c for c, k in kinds.items() if k == "boolean"]

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from segml.errors import SegmlDataError
        from segml.tracking.model import strict_booleans

        try:
            rows = strict_booleans(model_input, self.boolean_columns)
            return self.pipeline.predict(rows)
        except SegmlDataError as exc:  # the caller's data: a 400, not a 500
            from mlflow.exceptions import MlflowException
            from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc


mlflow.models.set_model(SegmlPyfuncModel())
