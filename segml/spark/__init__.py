"""segml on Apache Spark (install the ``spark`` extra): scoring with the
registered model through ``mlflow.pyfunc.spark_udf``."""

from segml.spark.scoring import result_type, score_spark, spark_udf

__all__ = ["result_type", "score_spark", "spark_udf"]
