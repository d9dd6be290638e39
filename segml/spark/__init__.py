"""segml on Apache Spark (install the ``spark`` extra; Spark 4 needs Java 17).

- :func:`build_features`: the feature catalogue's Ibis expressions executed
  natively by Spark (no per-customer Python on the executors);
- :func:`score_spark` / :func:`spark_udf`: scoring with the registered model
  through ``mlflow.pyfunc.spark_udf``.
"""

from segml.spark.features import build_features, to_pandas
from segml.spark.scoring import result_type, score_spark, spark_udf

__all__ = ["build_features", "result_type", "score_spark", "spark_udf", "to_pandas"]
