# Joins the two first migrations of the training app (model registry, training runs),
# written in parallel on separate branches.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("training", "0001_model_registry"),
        ("training", "0001_training_runs"),
    ]

    operations = []
