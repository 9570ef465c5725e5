"""Part 3: hyperparameter tuning (the values I found best on my validation split)."""
from neural_net import TwoLayerNet


def train_best_net(X_train, y_train, X_val, y_val):
    net = TwoLayerNet(X_train.shape[1], 100, 10, std=1e-1)
    net.train(X_train, y_train, X_val, y_val, num_iters=1000, batch_size=200,
              learning_rate=0.5, learning_rate_decay=0.95, reg=1e-3, verbose=False)
    return net
