"""Trains a small scikit-learn classifier on synthetic data and saves it to ./outputs/model."""
import os

import joblib
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

x, y = make_classification(n_samples=500, n_features=4, n_informative=3, n_redundant=0, random_state=0)
model = LogisticRegression().fit(x, y)
print("training accuracy %.3f" % model.score(x, y))
os.makedirs("outputs/model", exist_ok=True)
joblib.dump(model, "outputs/model/model.pkl")
