"""The MLflow pyfunc model, logged *from code* (not pickled).

MLflow executes this file when loading the model: it wraps the exported segml
pipeline, whose joblib file and model card are the model's artifacts. The sha256
in the card is checked before the pipeline is unpickled.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class SegmlPyfuncModel(PythonModel):
    """Score customers and leads with the segml predict contract."""

    def load_context(self, context) -> None:
        from segml.persist import ARTIFACT_NAME, CARD_NAME, load_model_file

        folder = Path(tempfile.mkdtemp(prefix="segml-model-"))
        shutil.copy(context.artifacts["pipeline"], folder / ARTIFACT_NAME)
        shutil.copy(context.artifacts["model_card"], folder / CARD_NAME)
        self.pipeline = load_model_file(folder)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.pipeline.predict(model_input)


mlflow.models.set_model(SegmlPyfuncModel())
