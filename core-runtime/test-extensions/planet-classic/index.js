// Titan Planet's `main`: a plain script with `t` in scope, wrapping the natives.
t.planet.shout = (name) => t.planet.greet(name).toUpperCase();
