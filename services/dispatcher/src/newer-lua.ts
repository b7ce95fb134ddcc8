// Resource versions compare as numbers when both are (etcd's are); otherwise only equality counts.
export const NEWER_LUA = `local function newer(a, b)
  local x, y = tonumber(a), tonumber(b)
  if x and y then return x > y end
  return a ~= b
end
`;
