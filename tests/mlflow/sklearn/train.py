# Trains a small classifier on scikit-learn's bundled iris data and logs it the MLflow way:
# autolog off, log_model with registered_model_name (the model appears in the registry).
import mlflow
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
with mlflow.start_run():
    model = LogisticRegression(C=1.0, max_iter=200).fit(X_train, y_train)
    mlflow.log_param("C", 1.0)
    mlflow.log_metric("accuracy", model.score(X_test, y_test))
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name="iris-classifier")
    print("model uri", info.model_uri)
