// Titan Planet's `main`: a plain script with `t` in scope, wrapping the natives.
t.planet.shout = (name) => t.planet.greet(name).toUpperCase();
// Classic scripts get `t` only: any name of their own is theirs (Titan's own entries also get
// `extension`, which must not collide here).
const extension = "planet";
t.planet.origin = () => extension;
